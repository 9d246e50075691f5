"""What a server certificate says: subject, issuer, expiry and the names it is valid for.

The standard library only describes certificates it has verified, but we also want to describe
certificates that failed verification or that the user chose to trust, so this module reads the
few fields it needs straight from the DER encoding. It never decides trust; OpenSSL does that.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class CertificateInfo:
    """The parts of a certificate a person needs to decide about it."""

    subject: str
    issuer: str
    not_before: str  # ISO 8601, UTC
    not_after: str  # ISO 8601, UTC
    names: tuple[str, ...]  # DNS names and IP addresses from subjectAltName (else the CN)

    @property
    def self_signed(self) -> bool:
        return self.subject == self.issuer

    def to_json(self) -> dict[str, object]:
        return {"subject": self.subject, "issuer": self.issuer, "not_after": self.not_after,
                "names": list(self.names)}


class CertificateParseError(ValueError):
    """The bytes are not a certificate this reader understands."""


_ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
    "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "DC",
}
_SUBJECT_ALT_NAME = "2.5.29.17"
_SEQUENCE, _SET, _OID, _OCTETS, _BOOLEAN = 0x30, 0x31, 0x06, 0x04, 0x01
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18


def _element(data: bytes, pos: int) -> tuple[int, int, int]:
    """Read one DER element at `pos`: (tag, start of content, end of content)."""
    if pos + 2 > len(data):
        raise CertificateParseError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise CertificateParseError("multi-byte tags are not used in certificates")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or pos + count > len(data):
            raise CertificateParseError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise CertificateParseError("element runs past the end")
    return tag, pos, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items = []
    pos = start
    while pos < end:
        tag, content, stop = _element(data, pos)
        if stop > end:
            raise CertificateParseError("child runs past its parent")
        items.append((tag, content, stop))
        pos = stop
    return items


def _oid(raw: bytes) -> str:
    if not raw:
        raise CertificateParseError("empty OID")
    first = raw[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _string(tag: int, raw: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if tag == 0x14:  # T61String: in practice Latin-1
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _name(data: bytes, start: int, end: int) -> tuple[str, list[tuple[str, str]]]:
    pairs: list[tuple[str, str]] = []
    for tag, rdn_start, rdn_end in _children(data, start, end):
        if tag != _SET:
            raise CertificateParseError("a Name holds SETs")
        for _, atv_start, atv_end in _children(data, rdn_start, rdn_end):
            (oid_tag, o_start, o_end), (value_tag, v_start, v_end) = \
                _children(data, atv_start, atv_end)[:2]
            if oid_tag != _OID:
                raise CertificateParseError("attribute without OID")
            oid = _oid(data[o_start:o_end])
            pairs.append((_ATTRIBUTE_NAMES.get(oid, oid), _string(value_tag, data[v_start:v_end])))
    return ", ".join(f"{key}={value}" for key, value in pairs), pairs


_TIME_FORMS = {_UTC_TIME: 13, _GENERALIZED_TIME: 15}  # YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ


def _time(tag: int, raw: bytes) -> str:
    text = raw.decode("ascii")
    if tag not in _TIME_FORMS:
        raise CertificateParseError("unknown time type")
    if len(text) != _TIME_FORMS[tag] or not text.endswith("Z") or not text[:-1].isdigit():
        raise CertificateParseError(f"bad time {text!r}")
    if tag == _UTC_TIME:
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        two_digits = int(text[:2])
        text = str((1900 if two_digits >= 50 else 2000) + two_digits) + text[2:]
    try:
        moment = dt.datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                             int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise CertificateParseError(f"bad time {raw.decode('ascii')!r}") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _alt_names(data: bytes, start: int, end: int) -> list[str]:
    tag, seq_start, seq_end = _element(data, start)
    if tag != _SEQUENCE:
        raise CertificateParseError("subjectAltName is a SEQUENCE")
    names = []
    for name_tag, n_start, n_end in _children(data, seq_start, seq_end):
        raw = data[n_start:n_end]
        if name_tag == 0x82:  # dNSName
            names.append(raw.decode("ascii", "replace"))
        elif name_tag == 0x87 and len(raw) in (4, 16):  # iPAddress
            names.append(str(ipaddress.ip_address(raw)))
    return names


@functools.lru_cache(maxsize=32)
def parse_der(der: bytes) -> CertificateInfo:
    """Describe a DER-encoded X.509 certificate; raises CertificateParseError when malformed.

    Cached: a server presents the same certificate on every connection.
    """
    try:
        return _parse(der)
    except CertificateParseError:
        raise
    except (ValueError, IndexError) as exc:
        raise CertificateParseError(str(exc)) from exc


def _parse(der: bytes) -> CertificateInfo:
    tag, cert_start, _cert_end = _element(der, 0)
    if tag != _SEQUENCE:
        raise CertificateParseError("a certificate is a SEQUENCE")
    tag, tbs_start, tbs_end = _element(der, cert_start)
    if tag != _SEQUENCE:
        raise CertificateParseError("tbsCertificate is a SEQUENCE")
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise CertificateParseError("tbsCertificate is too short")
    _serial, _algorithm, issuer, validity, subject = fields[:5]
    issuer_text, _ = _name(der, issuer[1], issuer[2])
    subject_text, subject_pairs = _name(der, subject[1], subject[2])
    times = _children(der, validity[1], validity[2])
    not_before = _time(times[0][0], der[times[0][1]:times[0][2]])
    not_after = _time(times[1][0], der[times[1][1]:times[1][2]])
    names: list[str] = []
    for field_tag, f_start, _f_end in fields[6:]:
        if field_tag != 0xA3:  # [3] extensions
            continue
        _, exts_start, exts_end = _element(der, f_start)
        for _, e_start, e_end in _children(der, exts_start, exts_end):
            parts = _children(der, e_start, e_end)
            if parts[0][0] != _OID or _oid(der[parts[0][1]:parts[0][2]]) != _SUBJECT_ALT_NAME:
                continue
            value = parts[-1]
            if value[0] != _OCTETS:
                raise CertificateParseError("extension value is an OCTET STRING")
            names.extend(_alt_names(der, value[1], value[2]))
    if not names:
        names = [value for key, value in subject_pairs if key == "CN"]
    return CertificateInfo(subject_text, issuer_text, not_before, not_after, tuple(names))
