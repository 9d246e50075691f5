"""Test send: the app's transport against raw smtplib, STARTTLS + AUTH to a local aiosmtpd.

    /work/venv/bin/python benchmarks/bench_send.py [--sends N] [--batch B]

The server (aiosmtpd, STARTTLS required, AUTH PLAIN/LOGIN, a trustme certificate for
127.0.0.1, TCP_NODELAY) runs in its own process, so its Python work does not share this
process's GIL. Two trust stores are measured one after the other, set through SSL_CERT_FILE so
that ssl.create_default_context() sees them, for the app and the baseline alike:

    test CA          only the test CA (as in the test suite): loading it is almost free
    system+test CA   this machine's CA bundle plus the test CA: as costly to load as the real one

Variants, run interleaved in batches of B (the order rotating every batch), N sends each:

    app test email   smtp_desktop.mail.send_test_email: builds the test message, STARTTLS, AUTH
                     with the default mechanisms "LOGIN PLAIN", MAIL/RCPT/DATA, QUIT
    app message      smtp_desktop.mail.send_message with a message built once
    app PLAIN        send_test_email with mail.smtp.auth.mechanisms = PLAIN (one AUTH round trip)
    raw              smtplib: connect, EHLO, starttls(context=ONE ssl.create_default_context()
                     made up front), EHLO, login (PLAIN), sendmail of the same bytes, quit
    raw new ctx      raw, but a new ssl.create_default_context() for every send, as the app does

Reported: wall time per send (median and spread), client CPU per send, the ratio to raw
(target: app <= 1.2x), and what the app's extra steps cost on their own.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import _bench

TARGET_RATIO = 1.2
RECIPIENT = "qa@example.test"
STORES = ("test CA", "system+test CA")


def _per_call_ms(function: Callable[[], object], calls: int = 50, repeats: int = 7) -> _bench.Summary:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        samples.append((time.perf_counter() - started) * 1000 / calls)
    return _bench.summarize(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200, help="sends per variant (default 200)")
    parser.add_argument("--batch", type=int, default=10, help="sends per batch (default 10)")
    args = parser.parse_args()
    _bench.print_header("test send: app transport vs raw smtplib (STARTTLS + AUTH, 127.0.0.1)")

    from smtp_desktop.config.model import Service, SmtpSettings
    from smtp_desktop.mail import build_test_message, send_message, send_test_email
    from smtp_desktop.mail.certificates import parse_der
    from smtp_desktop.mail.options import options_from_settings
    from smtp_desktop.mail.transport import _envelope

    results: dict[str, dict[str, tuple[_bench.Summary, _bench.Summary, float]]] = {}
    components: list[tuple[str, _bench.Summary]] = []
    with _bench.ServerProcess() as server:
        host, port = str(server.info["host"]), int(server.info["starttls_port"])  # type: ignore[arg-type]
        username, password = str(server.info["username"]), str(server.info["password"])
        keys = (("mail.smtp.auth", "true"), ("mail.smtp.starttls.enable", "true"))
        settings = SmtpSettings(enabled=True, service=Service.OWN, host=host, port=port,
                                username=username, keys=keys)
        plain_settings = SmtpSettings(
            enabled=True, service=Service.OWN, host=host, port=port, username=username,
            keys=(*keys, ("mail.smtp.auth.mechanisms", "PLAIN")))
        message = build_test_message(settings, RECIPIENT)
        body = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))

        def checked(outcome: object) -> None:
            if not getattr(outcome, "ok", False):
                raise RuntimeError(f"app send failed: {outcome}")

        def raw(context_factory: Callable[[], ssl.SSLContext]) -> Callable[[], None]:
            def send() -> None:
                client = smtplib.SMTP(host, port, local_hostname="localhost", timeout=10)
                try:
                    client.ehlo()
                    client.starttls(context=context_factory())
                    client.ehlo()
                    client.login(username, password)
                    client.sendmail(username, [RECIPIENT], body)
                    client.quit()
                finally:
                    client.close()

            return send

        sent = 0
        started = time.perf_counter()
        for store in STORES:
            os.environ.update(server.trust_env(store))
            shared_context = ssl.create_default_context()
            variants: dict[str, Callable[[], None]] = {
                "app test email": lambda: checked(send_test_email(settings, password, RECIPIENT)),
                "app message": lambda: checked(send_message(settings, password, message)),
                "app PLAIN": lambda: checked(send_test_email(plain_settings, password, RECIPIENT)),
                "raw": raw(lambda ctx=shared_context: ctx),
                "raw new ctx": raw(ssl.create_default_context),
            }
            for send in variants.values():  # warm up: imports, caches, first connections
                for _ in range(3):
                    send()
                    sent += 1
            wall, cpu = _interleaved(variants, args.sends, args.batch)
            sent += sum(len(v) for v in wall.values())
            results[store] = {name: (_bench.summarize(wall[name]), _bench.summarize(cpu[name]),
                                     sum(wall[name]) / len(wall[name])) for name in variants}
            components.append((f"ssl.create_default_context(), {store} store",
                               _per_call_ms(ssl.create_default_context, calls=5)))
        elapsed = time.perf_counter() - started
        options = options_from_settings(settings)
        chain = Path(str(server.info["leaf_file"])).read_text(encoding="ascii")
        leaf = ssl.PEM_cert_to_DER_cert(chain.split("-----END")[0] + "-----END CERTIFICATE-----\n")
        components[:0] = [
            ("build_test_message()", _per_call_ms(lambda: build_test_message(settings, RECIPIENT))),
            ("envelope: copy + flatten the message", _per_call_ms(
                lambda: _envelope(options, message, None, None))),
            ("parse_der() of the server certificate", _per_call_ms(lambda: parse_der(leaf))),
        ]
        final = server.stop()

    for store in STORES:
        rows = []
        base = results[store]["raw"][0].median
        for name, (wall_s, cpu_s, mean) in results[store].items():
            ratio = wall_s.median / base
            target = _bench.verdict(ratio <= TARGET_RATIO) if name.startswith("app test") else "-"
            rows.append([name, wall_s.text(digits=2), f"{cpu_s.median:.2f} ms", f"{1000 / mean:.0f}/s",
                         f"{ratio:.2f}x", target])
        bundle = f", {server.info['bundle_cas']} CAs" if store != "test CA" else ""
        print(f"trust store: {store}{bundle}")
        print(_bench.table(["variant", "wall time per send", "client CPU/send", "throughput",
                            "vs raw", f"target <= {TARGET_RATIO}x"], rows))
        print()
    print(_bench.table(["app step on its own", "time per call"],
                       [[label, summary.text(digits=2)] for label, summary in components]))
    print(f"\n{sent} sends in {elapsed:.1f} s; the server received {final.get('received')} "
          f"({final.get('authenticated')} authenticated)")
    return 0 if final.get("received") == sent else 1


def _interleaved(variants: dict[str, Callable[[], None]], sends: int,
                 batch: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run every variant `sends` times, in batches of `batch`, rotating the order each batch."""
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    deadline = time.monotonic() + 120
    for index in range(max(1, sends // batch)):
        for name in names[index % len(names):] + names[:index % len(names)]:
            send = variants[name]
            for _ in range(batch):
                c0, t0 = time.process_time(), time.perf_counter()
                send()
                wall[name].append((time.perf_counter() - t0) * 1000)
                cpu[name].append((time.process_time() - c0) * 1000)
        if time.monotonic() > deadline:
            print(f"(time budget reached after {index + 1} batches)")
            break
    return wall, cpu


if __name__ == "__main__":
    raise SystemExit(main())
