"""`hearth dashboard`: start Streamlit on localhost for one audience.

The audience is fixed when the dashboard starts (it is not a widget), so a dashboard started for
the advisory council cannot be switched to the coach's member-level views from the browser.
Settings reach the app as environment variables (HEARTH_DB, HEARTH_AUDIENCE, HEARTH_CONFIG);
`streamlit run dashboard/app.py -- --db X --audience council` works too.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from hearth.errors import HearthError
from hearth.warehouse import db_path

AUDIENCES = ("lead", "council", "coach")
APP = Path(__file__).with_name("app.py")


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


def port_free(port: int, host: str = "localhost") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def streamlit_command(
    db: str | os.PathLike | None, audience: str = "lead", port: int = 8501,
    config: str | os.PathLike | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that serve the dashboard (headless, localhost only,
    no usage statistics, no browser opened)."""

    if audience not in AUDIENCES:
        raise LaunchError(f"--audience {audience!r}: choose one of {', '.join(AUDIENCES)}")
    env = dict(os.environ)
    env["HEARTH_DB"] = str(db_path(db).resolve())
    env["HEARTH_AUDIENCE"] = audience
    if config:
        env["HEARTH_CONFIG"] = str(Path(config).resolve())
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", "localhost",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
        "--client.disableDataExport", "true",  # tables download through dashboard.exports only
        "--theme.base", "light",
        "--theme.primaryColor", "#C2410C",
    ]
    return command, env


def run_dashboard(
    db: str | os.PathLike | None = None, audience: str = "lead", port: int = 8501,
    config: str | os.PathLike | None = None,
) -> int:
    """Replace this process with Streamlit serving the dashboard (returns only on failure).

    exec rather than a child process: Ctrl-C, SIGTERM and the exit code all belong to Streamlit,
    and no orphaned server is left behind when `hearth dashboard` is stopped.
    """
    if not 1 <= port <= 65535:
        raise LaunchError(f"--port {port}: choose a port between 1 and 65535")
    if not port_free(port):
        raise LaunchError(f"port {port} is already in use; pass --port with another number")
    command, env = streamlit_command(db, audience, port, config)
    print(f"Hearth dashboard ({audience}) on http://localhost:{port} - press Ctrl-C to stop",
          flush=True)
    os.execve(command[0], command, env)
    return 1  # not reached: execve only returns by raising
