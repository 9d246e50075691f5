"""TLS contexts for the SMTP client: one per configuration and trust store, shared."""

from __future__ import annotations

import functools
import os
import ssl


@functools.lru_cache(maxsize=16)
def _tls_context(verify: bool, check_hostname: bool, min_tls: str | None, max_tls: str | None,
                 cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """A TLS context per configuration, shared by every connection of this process.

    Loading the system trust store takes tens of milliseconds, most of a local send. The trust
    store variables are part of the key, so a changed SSL_CERT_FILE / SSL_CERT_DIR (as OpenSSL
    defines them) gets a fresh context.
    """
    del cert_file, cert_dir  # only the cache key; create_default_context reads them itself
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif not check_hostname:
        context.check_hostname = False
    if min_tls:
        context.minimum_version = _tls_version(min_tls)
    if max_tls:
        context.maximum_version = _tls_version(max_tls)
    return context


def _tls_version(name: str) -> ssl.TLSVersion:
    """The ssl.TLSVersion for a name of keys.TLS_VERSIONS: "TLSv1.2" is TLSVersion.TLSv1_2."""
    return ssl.TLSVersion[name.replace(".", "_")]


def tls_context(verify: bool = True, check_hostname: bool = True, min_tls: str | None = None,
                max_tls: str | None = None) -> ssl.SSLContext:
    """The shared TLS context for these choices and the trust store the environment names.

    With no arguments: the default one, which verifies the certificate and the host name.
    """
    return _tls_context(verify, check_hostname, min_tls, max_tls,
                        os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
