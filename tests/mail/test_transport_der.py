"""The DER certificate reader agrees with the `cryptography` package (a test-only dependency)."""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st
from support.smtp_servers import self_signed_pems, trustme_pems

from smtp_desktop.mail.certificates import CertificateParseError, _time, parse_der


def der_of(pem: bytes) -> bytes:
    first = pem.split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    return ssl.PEM_cert_to_DER_cert(first.decode())


def expected_names(cert: x509.Certificate) -> tuple[str, ...]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return tuple(str(name.value) for name in san)


@pytest.fixture(scope="module")
def certificates(smtp_ca):
    return {
        "leaf": der_of(trustme_pems(smtp_ca, "127.0.0.1", "mail.example.test", "::1")[0]),
        "expired": der_of(trustme_pems(smtp_ca, "mail.example.test",
                                       not_after=dt.datetime(2021, 6, 30, 12, 0, 0))[0]),
        "self-signed": der_of(self_signed_pems("localhost", "127.0.0.1")[0]),
    }


@pytest.mark.parametrize("kind", ["leaf", "expired", "self-signed"])
def test_reader_matches_cryptography(certificates, kind):
    der = certificates[kind]
    reference = x509.load_der_x509_certificate(der)

    info = parse_der(der)

    assert info.names == expected_names(reference)
    assert info.not_after == reference.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert info.not_before == reference.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    subject = {(a.oid.dotted_string, a.value) for a in reference.subject}
    assert len(subject) == info.subject.count("=")
    for _, value in subject:
        assert value in info.subject
    assert info.self_signed == (reference.subject == reference.issuer)


def test_ca_certificate_without_alt_names(smtp_ca):
    info = parse_der(ssl.PEM_cert_to_DER_cert(smtp_ca.cert_pem.bytes().decode()))

    assert info.names == ()
    assert "smtp-desktop test CA" in info.subject
    assert info.self_signed


def test_truncated_certificate_is_a_parse_error(certificates):
    with pytest.raises(CertificateParseError):
        parse_der(certificates["leaf"][:200])


@given(st.binary(max_size=300))
def test_garbage_only_ever_raises_parse_error(data):
    with contextlib.suppress(CertificateParseError):
        parse_der(data)


LEAF = der_of(self_signed_pems("mail.example.test")[0])


@given(st.integers(0, len(LEAF) - 1), st.integers(0, 255))
def test_corrupted_certificate_is_read_or_refused_cleanly(index, value):
    corrupted = LEAF[:index] + bytes([value]) + LEAF[index + 1:]
    try:
        info = parse_der(corrupted)
    except CertificateParseError:
        return
    assert isinstance(info.subject, str) and isinstance(info.names, tuple)


@pytest.mark.parametrize(("tag", "text", "expected"), [
    (0x17, "500101000000Z", "1950-01-01T00:00:00Z"),  # RFC 5280: 50-99 are 19xx
    (0x17, "491231235959Z", "2049-12-31T23:59:59Z"),  # ... and 00-49 are 20xx
    (0x18, "30000101000000Z", "3000-01-01T00:00:00Z"),
])
def test_validity_times_follow_rfc_5280(tag, text, expected):
    assert _time(tag, text.encode("ascii")) == expected


@pytest.mark.parametrize(("tag", "text"), [
    (0x17, "991332000000Z"),  # month 13
    (0x17, "99123100000Z"),  # one digit short
    (0x17, "9912310000+0"),
    (0x18, "2024013100000 Z"),
    (0x18, "202401310000000"),  # no Z
    (0x13, "20240131000000Z"),  # not a time type
])
def test_bad_validity_times_are_parse_errors(tag, text):
    with pytest.raises(CertificateParseError):
        _time(tag, text.encode("ascii"))
