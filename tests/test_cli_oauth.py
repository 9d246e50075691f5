"""Issue 14, the command line: oauth login|status|logout, --password-stdin with OAuth2, and
import --client-secret-stdin. The browser is the test: BROWSER runs a script that follows the
URL (webbrowser honours BROWSER); --no-browser prints the URL alone on one stderr line."""

from __future__ import annotations

import json
import threading

import keyring
from support.oauth_server import CLIENT_ID, USER, follow


def _settings_file(authz, auth: str = "oauth2", provider: str = "custom") -> dict:
    return {"version": 2, "enabled": True, "service": "own",
            "own": {"host": "127.0.0.1", "port": 2525, "username": USER, "auth": auth,
                    "oauth2": {"provider": provider, "client_id": CLIENT_ID,
                               "tenant": None,
                               "authorization_endpoint": f"{authz.base}/authorize",
                               "token_endpoint": f"{authz.base}/token",
                               "device_authorization_endpoint": f"{authz.base}/devicecode",
                               "scopes": ["openid", "email", "smtp"]},
                    "keys": {"mail.smtp.auth": "true", "mail.smtp.starttls.enable": "false"}}}


def _import(cli, tmp_path, document) -> None:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    code, out, err = cli("import", str(path))
    assert code == 0, out + err


def test_login_no_browser_prints_the_url_alone_and_the_test_follows_it(cli, ring, authz, tmp_path):
    _import(cli, tmp_path, _settings_file(authz))
    urls: list[str] = []

    def on_line(line: str) -> None:
        if line.startswith("http"):
            urls.append(line)
            threading.Thread(target=follow, args=(line,), daemon=True).start()

    code, out, err = cli("oauth", "login", "--no-browser", "--timeout", "30", "--json",
                         on_stderr_line=on_line)
    assert code == 0, out + err
    assert len(urls) == 1 and urls[0].startswith(f"{authz.base}/authorize?")
    assert [line for line in err.splitlines() if line.strip()] == urls  # alone on its line
    document = json.loads(out)
    assert document["signed_in"] is True and document["account"] == USER
    stored = json.loads(ring.entries[("smtp-desktop", f"oauth2:{USER}@127.0.0.1")])
    assert authz.valid_access(USER, stored["access_token"])
    for secret in (stored["access_token"], stored["refresh_token"]):
        assert secret not in out + err
        assert secret not in (cli.config_dir / "settings.json").read_text()

    code, out, _ = cli("oauth", "status", "--json")
    status = json.loads(out)
    assert code == 0 and set(status) == {"signed_in", "account", "expires_at", "scopes", "provider"}
    assert status["signed_in"] and status["account"] == USER and status["provider"] == "custom"
    assert status["expires_at"].endswith("Z") and status["scopes"] == ["openid", "email", "smtp"]

    code, out, _ = cli("oauth", "logout", "--json")
    assert code == 0 and json.loads(out)["signed_out"] is True
    assert ring.entries == {}
    code, out, _ = cli("oauth", "status", "--json")
    assert code == 0 and json.loads(out)["signed_in"] is False


def test_login_opens_the_browser_through_webbrowser(cli, ring, authz, tmp_path, monkeypatch):
    _import(cli, tmp_path, _settings_file(authz))
    opened: list[str] = []

    def browser(url: str, *args, **kwargs) -> bool:
        opened.append(url)
        threading.Thread(target=follow, args=(url,), daemon=True).start()
        return True

    monkeypatch.setattr("webbrowser.open", browser)
    code, out, err = cli("oauth", "login", "--timeout", "30")
    assert code == 0, out + err
    assert opened and "Signed in as me@example.test" in out


def test_login_timeout_is_exit_1_timeout(cli, ring, authz, tmp_path):
    _import(cli, tmp_path, _settings_file(authz))
    code, out, _ = cli("oauth", "login", "--no-browser", "--timeout", "0.3", "--json")
    assert code == 1 and json.loads(out)["category"] == "timeout"


def test_device_login_shows_the_code_on_stderr(cli, ring, authz, tmp_path, monkeypatch):
    authz.device_interval = 0
    _import(cli, tmp_path, _settings_file(authz))
    code, out, err = cli("oauth", "login", "--device", "--json")
    assert code == 0, out + err
    assert "enter the code WDJB-MJHT" in err and json.loads(out)["signed_in"] is True


def test_google_device_login_is_exit_2(cli, ring, authz, tmp_path):
    _import(cli, tmp_path, _settings_file(authz, provider="google"))
    code, out, _ = cli("oauth", "login", "--device", "--json")
    assert code == 2
    assert "Google does not allow the Gmail scope in the device flow" in json.loads(out)["message"]


def test_login_with_a_password_login_is_exit_2(cli, ring, authz, tmp_path):
    _import(cli, tmp_path, _settings_file(authz, auth="password"))
    code, out, _ = cli("oauth", "login", "--json")
    assert code == 2 and "not OAuth2" in json.loads(out)["message"]


def test_no_secure_keyring_is_exit_4(cli, authz, tmp_path):
    from keyring.backends.fail import Keyring as FailKeyring

    keyring.set_keyring(FailKeyring())
    _import(cli, tmp_path, _settings_file(authz))
    code, out, _ = cli("oauth", "status", "--json")
    assert code == 4 and "No secure keyring" in json.loads(out)["message"]


def test_password_stdin_with_oauth2_is_exit_2(cli, ring, authz, tmp_path):
    _import(cli, tmp_path, _settings_file(authz))
    code, out, _ = cli("send-test", "--to", "qa@example.test", "--password-stdin", "--json",
                       stdin="pw\n")
    assert code == 2 and "OAuth2" in json.loads(out)["message"]
    path = tmp_path / "again.json"
    path.write_text(json.dumps(_settings_file(authz)))
    code, out, _ = cli("import", str(path), "--password-stdin", "--json", stdin="pw\n")
    assert code == 2 and ring.entries == {}


def test_import_client_secret_stdin_goes_to_the_keyring_only(cli, ring, authz, tmp_path):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(_settings_file(authz, provider="google")))
    code, out, err = cli("import", str(path), "--client-secret-stdin", stdin="GOCSPX-secret\n")
    assert code == 0, out + err
    assert ring.entries == {("smtp-desktop", f"oauth2-client:{CLIENT_ID}"): "GOCSPX-secret"}
    assert "GOCSPX" not in (cli.config_dir / "settings.json").read_text()
    code, out, _ = cli("export", "-")
    assert "GOCSPX" not in out


def test_send_test_uses_the_stored_sign_in_and_refreshes_it(cli, ring, authz, tmp_path,
                                                             smtp_server_factory, _good_pems):
    from support.oauth_smtp import OAuthHandler

    handler = OAuthHandler(authz.valid_access)
    smtp = smtp_server_factory("starttls", pems=_good_pems, handler=handler)
    document = _settings_file(authz)
    document["own"].update(host=smtp.host, port=smtp.port)
    document["own"]["keys"]["mail.smtp.starttls.enable"] = "true"
    _import(cli, tmp_path, document)
    issued = authz.issue()
    ring.entries[("smtp-desktop", f"oauth2:{USER}@{smtp.host}")] = json.dumps(
        {"refresh_token": issued["refresh_token"], "access_token": "expired-access",
         "expires_at": "2020-01-01T00:00:00Z", "scopes": ["smtp"], "account": USER})
    code, out, err = cli("send-test", "--to", "qa@example.test", "--json")
    assert code == 0, out + err
    assert authz.refreshes == 1 and [m for m, _, _ in handler.logins] == ["OAUTHBEARER"]
    stored = json.loads(ring.entries[("smtp-desktop", f"oauth2:{USER}@{smtp.host}")])
    assert stored["access_token"] not in out + err
    assert "C: AUTH OAUTHBEARER <redacted>" in json.loads(out)["transcript"]


def test_secrets_sweep_no_token_in_any_file_log_or_output(cli, ring, authz, tmp_path,
                                                          smtp_server_factory, _good_pems,
                                                          caplog):
    """Sign in, send with -v (logging to stderr), probe, status, export; then search every
    file under the test's folders and everything printed or logged for the tokens, raw and in
    the base64 forms XOAUTH2 and OAUTHBEARER carry them."""
    import base64

    from support.oauth_smtp import OAuthHandler

    caplog.set_level("DEBUG", logger="smtp_desktop")
    smtp = smtp_server_factory("starttls", pems=_good_pems, handler=OAuthHandler(authz.valid_access))
    document = _settings_file(authz)
    document["own"].update(host=smtp.host, port=smtp.port)
    document["own"]["keys"]["mail.smtp.starttls.enable"] = "true"
    _import(cli, tmp_path, document)
    outputs: list[str] = []

    def on_line(line: str) -> None:
        if line.startswith("http"):
            threading.Thread(target=follow, args=(line,), daemon=True).start()

    outputs += cli("oauth", "login", "--no-browser", "--timeout", "30", on_stderr_line=on_line)[1:]
    code, *printed = cli("-v", "send-test", "--to", "qa@example.test")
    assert code == 0, printed
    outputs += printed
    outputs += cli("-v", "probe", "--json")[1:]
    outputs += cli("oauth", "status")[1:]
    outputs += cli("export", "-")[1:]
    stored = json.loads(ring.entries[("smtp-desktop", f"oauth2:{USER}@{smtp.host}")])
    access, refresh = stored["access_token"], stored["refresh_token"]
    user = USER.encode()
    forms = [access, refresh, base64.b64encode(
        b"user=" + user + b"\x01auth=Bearer " + access.encode() + b"\x01\x01").decode(),
        base64.b64encode(b"n,a=" + user + b",\x01host=" + smtp.host.encode() + b"\x01port="
                         + str(smtp.port).encode() + b"\x01auth=Bearer " + access.encode()
                         + b"\x01\x01").decode()]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "history.jsonl" for p in files)
    haystacks = [*outputs, caplog.text, *(p.read_bytes().decode("utf-8", "replace") for p in files)]
    for form in forms:
        for text in haystacks:
            assert form not in text, f"a token form leaked: {text[:200]}"
