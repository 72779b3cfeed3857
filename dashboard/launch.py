"""`hearth dashboard`: start Streamlit, in one of two modes.

**Sign-in mode** (an [auth] section in Streamlit's secrets.toml): one process serves the whole
program; people sign in with the program's OpenID Connect provider and their role in hearth.toml
[access] decides the pages and the data (hearth.access). It may listen on any address, normally
behind an HTTPS reverse proxy (docs/deploy.md).

**Local mode** (no [auth]): a single user on this machine, no sign-in, the view chosen with
--audience. It listens on localhost only; asked to listen anywhere else it refuses to start.

Settings reach the app as environment variables (HEARTH_DB, HEARTH_AUDIENCE, HEARTH_CONFIG);
`streamlit run dashboard/app.py -- --db X --audience council` works too.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from hearth.config import load_config
from hearth.errors import HearthError
from hearth.warehouse import db_path

AUDIENCES = ("lead", "council", "coach")
APP = Path(__file__).with_name("app.py")
LOCALHOST = "localhost"


class LaunchError(HearthError, ValueError):
    """The dashboard cannot start; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    db: str | None
    audience: str
    config: str | None


def settings(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """The app's settings: script arguments first, then environment variables, then defaults."""
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--db")
    parser.add_argument("--audience")
    parser.add_argument("--config")
    known, _ = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    audience = (known.audience or environ.get("HEARTH_AUDIENCE") or "lead").strip().lower()
    if audience not in AUDIENCES:
        raise LaunchError(f"audience {audience!r} is not one of {', '.join(AUDIENCES)}")
    return Settings(
        db=known.db or environ.get("HEARTH_DB") or None,
        audience=audience,
        config=known.config or environ.get("HEARTH_CONFIG") or None,
    )


def port_free(port: int, host: str = LOCALHOST) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: localhost, 127.0.0.0/8, ::1."""
    if host.strip().lower() == LOCALHOST:
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


# --- Streamlit's secrets: where sign-in is configured ------------------------------------------

def secrets_files(explicit: str | os.PathLike | None = None) -> list[Path]:
    """The secrets.toml files Streamlit will read: --secrets, else its own two defaults
    (~/.streamlit/secrets.toml, then ./.streamlit/secrets.toml)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise LaunchError(f"{path}: secrets file not found; pass --secrets with the path of "
                              "your secrets.toml (docs/deploy.md shows one)")
        return [path]
    return [p for p in (Path.home() / ".streamlit" / "secrets.toml",
                        Path.cwd() / ".streamlit" / "secrets.toml") if p.is_file()]


def auth_section(files: list[Path]) -> tuple[Path, dict] | None:
    """The [auth] section Streamlit would use (the last file with one wins), checked; or None."""
    found = None
    for path in files:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LaunchError(f"{path}: not valid TOML ({exc}); fix the line named") from None
        if isinstance(raw.get("auth"), dict):
            found = (path, raw["auth"])
    if found is not None:
        check_auth(*found)
    return found


PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def check_auth(path: Path, auth: dict) -> None:
    """Refuse an [auth] section Streamlit would fail on at the first sign-in, saying why now."""
    redirect = str(auth.get("redirect_uri") or "")
    if not redirect:
        raise LaunchError(f"{path}: [auth] has no redirect_uri; set it to your address followed "
                          "by /oauth2callback, e.g. https://hearth.example.org/oauth2callback")
    if not redirect.endswith("/oauth2callback"):
        raise LaunchError(f"{path}: [auth] redirect_uri {redirect!r} must end with "
                          "/oauth2callback (register the same address with your provider)")
    if len(str(auth.get("cookie_secret") or "")) < 32:
        raise LaunchError(f"{path}: [auth] cookie_secret is missing or shorter than 32 "
                          "characters; set one from `python -c \"import secrets; "
                          "print(secrets.token_hex(32))\"`")
    providers = {name: section for name, section in auth.items() if isinstance(section, dict)
                 and name != "client_kwargs"}
    if any(key in auth for key in PROVIDER_KEYS):
        providers["default"] = auth
    if not providers:
        raise LaunchError(f"{path}: [auth] names no provider; add client_id, client_secret and "
                          "server_metadata_url (or an [auth.NAME] table per provider)")
    for name, section in providers.items():
        missing = [k for k in PROVIDER_KEYS if not section.get(k)]
        if missing:
            table = "[auth]" if name == "default" else f"[auth.{name}]"
            raise LaunchError(f"{path}: {table} has no {', '.join(missing)}; copy them from "
                              "your provider's app registration (docs/deploy.md)")
        if "_" in name:
            raise LaunchError(f"{path}: [auth.{name}]: Streamlit refuses provider names with "
                              "an underscore; rename the table")


def providers(auth: dict) -> list[str]:
    """Sign-in buttons to offer: 'default' for a provider set in [auth] itself, else each
    [auth.NAME] table."""
    named = [name for name, section in auth.items() if isinstance(section, dict)
             and name != "client_kwargs"]
    return ["default"] if any(k in auth for k in PROVIDER_KEYS) or not named else named


# --- the command -------------------------------------------------------------------------------

def streamlit_command(
    db: str | os.PathLike | None, audience: str | None = "lead", port: int = 8501,
    config: str | os.PathLike | None = None, host: str = LOCALHOST,
    secrets: str | os.PathLike | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard (headless, no usage
    statistics, no browser opened). ``audience`` is the local mode's view; None in sign-in mode."""

    if audience is not None and audience not in AUDIENCES:
        raise LaunchError(f"--audience {audience!r}: choose one of {', '.join(AUDIENCES)}")
    env = dict(os.environ)
    env["HEARTH_DB"] = str(db_path(db).resolve())
    env.pop("HEARTH_AUDIENCE", None)
    if audience is not None:
        env["HEARTH_AUDIENCE"] = audience
    if config:
        env["HEARTH_CONFIG"] = str(Path(config).resolve())
    # Streamlit refuses larger uploads itself, before they reach memory; the upload function
    # checks the same limit again (dashboard/loading.py).
    upload_mb = load_config(config).upload_max_mb
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.maxUploadSize", str(upload_mb),
        "--client.toolbarMode", "minimal",
        "--client.disableDataExport", "true",  # tables download through dashboard.exports only
        "--theme.base", "light",
        "--theme.primaryColor", "#C2410C",
    ]
    if secrets:
        command += ["--secrets.files", str(Path(secrets).resolve())]
    return command, env


def run_dashboard(
    db: str | os.PathLike | None = None, audience: str | None = None, port: int = 8501,
    config: str | os.PathLike | None = None, host: str = LOCALHOST,
    secrets: str | os.PathLike | None = None,
) -> int:
    """Replace this process with Streamlit serving the dashboard (returns only on failure).

    exec rather than a child process: Ctrl-C, SIGTERM and the exit code all belong to Streamlit,
    and no orphaned server is left behind when `hearth dashboard` is stopped.
    """
    if not 1 <= port <= 65535:
        raise LaunchError(f"--port {port}: choose a port between 1 and 65535")
    files = secrets_files(secrets)
    auth = auth_section(files)
    rules = load_config(config).access  # a mistake in [access] stops us here, not at sign-in
    if auth is None:
        if not is_loopback(host):
            raise LaunchError(
                f"--host {host}: without sign-in the dashboard serves only this machine; add an "
                "[auth] section to .streamlit/secrets.toml (docs/deploy.md) or leave out --host")
        audience = audience or "lead"
    else:
        if audience is not None:
            raise LaunchError(f"--audience: {auth[0]} configures sign-in, so each person's role "
                              "in hearth.toml [access] decides the view; leave out --audience")
        if not rules.leads and not rules.role_claim:
            raise LaunchError(f"{config or 'hearth.toml'}: [access] names no lead, so nobody "
                              "could use the dashboard after signing in; add leads = "
                              "[\"you@example.org\"] (docs/deploy.md)")
    if not port_free(port, host):
        raise LaunchError(f"port {port} is already in use; pass --port with another number")
    command, env = streamlit_command(db, audience, port, config, host,
                                     secrets if secrets else None)
    where = f"http://{LOCALHOST if is_loopback(host) else host}:{port}"
    mode = f"sign-in ({auth[0]})" if auth else f"local mode, {audience} view, no sign-in"
    print(f"Hearth dashboard, {mode}, on {where} - press Ctrl-C to stop", flush=True)
    os.execve(command[0], command, env)
    return 1  # not reached: execve only returns by raising
