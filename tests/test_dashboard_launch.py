"""`hearth dashboard`: how Streamlit is started, and how the app learns its audience."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dashboard.launch import LaunchError, run_dashboard, settings, streamlit_command
from hearth.cli import main


def test_streamlit_runs_headless_on_localhost_without_usage_stats(tmp_path):
    command, env = streamlit_command(tmp_path / "w.duckdb", "council", 8777)
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert Path(command[4]).name == "app.py"
    assert flags["--server.headless"] == "true"
    assert flags["--server.address"] == "localhost"
    assert flags["--server.port"] == "8777"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert env["HEARTH_DB"] == str((tmp_path / "w.duckdb").resolve())
    assert env["HEARTH_AUDIENCE"] == "council"


def test_the_app_reads_its_audience_from_arguments_before_the_environment():
    env = {"HEARTH_AUDIENCE": "coach", "HEARTH_DB": "/x/h.duckdb"}
    assert settings([], env).audience == "coach"
    assert settings(["--audience", "council"], env).audience == "council"
    assert settings([], {}).audience == "lead"
    assert settings([], env).db == "/x/h.duckdb"


def test_an_unknown_audience_is_refused_with_the_choices():
    with pytest.raises(LaunchError, match="not one of lead, council, coach"):
        settings([], {"HEARTH_AUDIENCE": "everyone"})


def test_a_busy_port_is_named_with_the_fix(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LaunchError, match=f"port {port} is already in use; pass --port"):
            run_dashboard(tmp_path / "w.duckdb", "lead", port)
        assert main(["--db", str(tmp_path / "w.duckdb"), "dashboard", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"hearth: port {port} is already in use; pass --port with another number\n")


def test_the_cli_offers_only_the_three_audiences(capsys):
    with pytest.raises(SystemExit):
        main(["dashboard", "--audience", "public"])
    assert "invalid choice: 'public'" in capsys.readouterr().err
