"""`smtp-desktop oauth login|status|logout`: OAuth2 sign-in with the saved settings.

    oauth login [--device] [--no-browser] [--timeout S] [--json]
    oauth status [--json]
    oauth logout [--json]

Exit codes follow `ExitCode`: 2 when the saved login method is not OAuth2 or the client is
incomplete, or for the device flow with Google; 4 without a secure keyring for the tokens;
1 for a sign-in that failed (timeout, access_denied, the token endpoint's errors). Messages for
people go to stderr; with --no-browser the authorization URL is alone on one stderr line.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from smtp_desktop.config.errors import NoSecureKeyringError, SecretStoreError
from smtp_desktop.exit_codes import ExitCode
from smtp_desktop.text import escape

if TYPE_CHECKING:
    from smtp_desktop.cli.output import Output as _Output
    from smtp_desktop.config.model import SmtpSettings
    from smtp_desktop.config.service import ConfigService
    from smtp_desktop.config.tokens import TokenSet


def add_subcommands(sub: Any) -> None:
    oauth = sub.add_parser("oauth", help="sign in with OAuth2 (Microsoft 365, Google, custom)")
    actions = oauth.add_subparsers(dest="oauth_command", metavar="ACTION", required=True)
    login = actions.add_parser("login", help="sign in with the saved settings' OAuth2 client")
    login.add_argument("--device", action="store_true",
                       help="use the device code flow (microsoft, custom): sign in elsewhere")
    login.add_argument("--no-browser", action="store_true",
                       help="print the authorization URL instead of opening a browser")
    login.add_argument("--timeout", type=float, default=300.0, metavar="S",
                       help="seconds to wait for the sign-in (default 300)")
    login.add_argument("--json", action="store_true", help="print one JSON object")
    status = actions.add_parser("status", help="whether this account is signed in")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    logout = actions.add_parser("logout", help="delete the stored tokens (and revoke them)")
    logout.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace, config: ConfigService, out: _Output) -> int:
    from smtp_desktop.cli.saved import load_saved as _load_strict

    settings = _load_strict(config).settings
    handler = {"login": _login, "status": _status, "logout": _logout}[args.oauth_command]
    try:
        config.secrets.require_secure()
        return handler(args, config, settings, out)
    except NoSecureKeyringError as exc:
        return out.done(ExitCode.ENVIRONMENT, str(exc).replace("the password was not stored",
                                                               "no OAuth2 tokens can be kept"))
    except SecretStoreError as exc:
        return out.done(ExitCode.ENVIRONMENT, str(exc))


def _not_oauth2(settings: SmtpSettings, out: _Output) -> int | None:
    from smtp_desktop.config.validation import oauth2_problems

    if not settings.uses_oauth2:
        return out.done(ExitCode.INVALID, 'The saved login method is a password, not OAuth2; '
                        'import settings with "auth": "oauth2" first.')
    problems = oauth2_problems(settings.oauth2)
    if not settings.username or not settings.host:
        return out.done(ExitCode.INVALID, "Set the host and username first; the sign-in "
                        "belongs to them.")
    if problems:
        return out.done(ExitCode.INVALID, "The OAuth2 client is not complete: "
                        + " ".join(p.message for p in problems),
                        problems=[str(p) for p in problems])
    return None


def _token_fields(settings: SmtpSettings, tokens: TokenSet | None) -> dict[str, Any]:
    return {"signed_in": tokens is not None,
            "account": tokens.account if tokens else None,
            "expires_at": tokens.expires_at if tokens else None,
            "scopes": list(tokens.scopes) if tokens else [],
            "provider": settings.oauth2.provider.value}


def _login(args: argparse.Namespace, config: ConfigService, settings: SmtpSettings,
           out: _Output) -> int:
    from smtp_desktop.oauth2.errors import OAuth2Error
    from smtp_desktop.oauth2.flows import (
        DeviceFlowUnavailable,
        browser_sign_in,
        device_sign_in,
    )

    refused = _not_oauth2(settings, out)
    if refused is not None:
        return refused
    if args.timeout <= 0:
        return out.done(ExitCode.INVALID, "--timeout must be a positive number of seconds.")
    secret = config.tokens.client_secret(settings.oauth2.client_id)
    try:
        if args.device:
            result = device_sign_in(settings, _show_device_code, client_secret=secret,
                                    timeout=args.timeout)
        else:
            result = browser_sign_in(settings, _opener(args.no_browser), client_secret=secret,
                                     timeout=args.timeout)
    except DeviceFlowUnavailable as exc:
        return out.done(ExitCode.INVALID, exc.message, category=exc.category.value,
                        advice=exc.advice)
    except OAuth2Error as exc:
        if not out.as_json:
            print(escape(exc.advice), file=sys.stderr)
        return out.done(ExitCode.INVALID if exc.category.value == "invalid-input"
                        else ExitCode.SERVER, exc.message, category=exc.category.value,
                        advice=exc.advice)
    config.tokens.set(settings, result.tokens)
    if result.warning and not out.as_json:
        print(f"Warning: {escape(result.warning)}", file=sys.stderr)
    who = result.tokens.account or settings.username
    return out.done(ExitCode.OK, f"Signed in as {who}.", warning=result.warning,
                    **_token_fields(settings, result.tokens))


def _opener(no_browser: bool) -> Any:
    def print_url(url: str) -> None:
        print(url, file=sys.stderr, flush=True)

    def open_browser(url: str) -> None:
        import webbrowser

        print("Waiting for the browser to finish the sign-in…", file=sys.stderr, flush=True)
        if not webbrowser.open(url):
            print("No browser could be opened; open this address yourself:", file=sys.stderr)
            print_url(url)

    return print_url if no_browser else open_browser


def _show_device_code(code: Any) -> None:
    print(f"To sign in, open {escape(code.verification_uri)} and enter the code "
          f"{escape(code.user_code)}", file=sys.stderr, flush=True)


def _status(args: argparse.Namespace, config: ConfigService, settings: SmtpSettings,
            out: _Output) -> int:
    from smtp_desktop.cli.output import print_json

    tokens = config.tokens.get(settings) if settings.password_account else None
    fields = _token_fields(settings, tokens)
    if out.as_json:
        print_json(fields)
    elif tokens is None:
        print(f"Not signed in ({fields['provider']}).")
    else:
        expiry = fields["expires_at"] or "unknown"
        print(f"Signed in as {escape(tokens.account or settings.username)} "
              f"({fields['provider']}); the access token expires {expiry}.")
    return int(ExitCode.OK)


def _logout(args: argparse.Namespace, config: ConfigService, settings: SmtpSettings,
            out: _Output) -> int:
    from smtp_desktop.oauth2.providers import endpoints

    tokens = config.tokens.get(settings) if settings.password_account else None
    revoked = False
    revocation = endpoints(settings.oauth2).revocation
    if tokens is not None and revocation and tokens.refresh_token:
        from smtp_desktop.oauth2.errors import OAuth2Error
        from smtp_desktop.oauth2.token_endpoint import post_form

        try:
            post_form(revocation, {"token": tokens.refresh_token})
            revoked = True
        except OAuth2Error as exc:  # the tokens go anyway; the provider keeps the grant
            if not out.as_json:
                print(f"Warning: the provider did not revoke the sign-in: {escape(exc.message)}",
                      file=sys.stderr)
    removed = config.tokens.delete(settings)
    message = "Signed out." if removed else "Was not signed in."
    return out.done(ExitCode.OK, message, signed_out=removed, revoked=revoked)
