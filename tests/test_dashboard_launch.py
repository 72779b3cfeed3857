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


# --- local mode and sign-in mode ---------------------------------------------------------------

AUTH = """[auth]
redirect_uri = "https://hearth.example.org/oauth2callback"
cookie_secret = "0123456789abcdef0123456789abcdef0123"
client_id = "hearth"
client_secret = "s3cret"
server_metadata_url = "https://id.example.org/.well-known/openid-configuration"
"""


@pytest.fixture()
def no_home_secrets(monkeypatch, tmp_path):
    """Streamlit's default secrets locations, pointed at empty folders."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "hearth.example.org"])
def test_another_address_without_sign_in_is_refused_in_one_line(tmp_path, capsys,
                                                                no_home_secrets, host):
    assert main(["--db", str(tmp_path / "w.duckdb"), "dashboard", "--host", host]) == 2
    assert capsys.readouterr().err == (
        f"hearth: --host {host}: without sign-in the dashboard serves only this machine; add an "
        "[auth] section to .streamlit/secrets.toml (docs/deploy.md) or leave out --host\n")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "127.0.1.1"])
def test_loopback_addresses_are_local(host):
    from dashboard.launch import is_loopback

    assert is_loopback(host)


def test_sign_in_mode_passes_the_secrets_and_no_audience(tmp_path, monkeypatch):
    monkeypatch.setenv("HEARTH_AUDIENCE", "coach")  # an old setting must not choose the view
    secrets = tmp_path / "secrets.toml"
    command, env = streamlit_command(tmp_path / "w.duckdb", None, 8777, host="0.0.0.0",
                                     secrets=secrets)
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.address"] == "0.0.0.0"
    assert flags["--secrets.files"] == str(secrets.resolve())
    assert "HEARTH_AUDIENCE" not in env


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_audience_is_refused_when_roles_decide(tmp_path, capsys, no_home_secrets):
    secrets = write(tmp_path / "secrets.toml", AUTH)
    config = write(tmp_path / "hearth.toml", '[access]\nleads = ["me@example.org"]\n')
    assert main(["--config", str(config), "dashboard", "--secrets", str(secrets),
                 "--audience", "council"]) == 2
    assert capsys.readouterr().err.startswith(
        f"hearth: --audience: {secrets} configures sign-in, so each person's role")


def test_sign_in_without_any_lead_is_refused(tmp_path, capsys, no_home_secrets):
    secrets = write(tmp_path / "secrets.toml", AUTH)
    assert main(["--config", str(write(tmp_path / "hearth.toml", "")), "dashboard",
                 "--secrets", str(secrets)]) == 2
    assert "[access] names no lead" in capsys.readouterr().err


@pytest.mark.parametrize(("change", "message"), [
    (("redirect_uri = \"https://hearth.example.org/oauth2callback\"", ""),
     "[auth] has no redirect_uri"),
    (("/oauth2callback\"", "/\""), "must end with /oauth2callback"),
    (("0123456789abcdef0123456789abcdef0123", "short"), "cookie_secret is missing or shorter"),
    (("client_secret = \"s3cret\"", ""), "[auth] has no client_secret"),
])
def test_a_broken_auth_section_is_named_before_anyone_signs_in(tmp_path, capsys,
                                                                no_home_secrets, change, message):
    secrets = write(tmp_path / "secrets.toml", AUTH.replace(*change))
    config = write(tmp_path / "hearth.toml", '[access]\nleads = ["me@example.org"]\n')
    assert main(["--config", str(config), "dashboard", "--secrets", str(secrets)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hearth: {secrets}: ") and message in err and err.count("\n") == 1


def test_named_providers_each_get_a_button(tmp_path):
    from dashboard.launch import check_auth, providers

    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
            "google": {"client_id": "a", "client_secret": "b", "server_metadata_url": "c"},
            "microsoft": {"client_id": "a", "client_secret": "b", "server_metadata_url": "c",
                          "client_kwargs": {"prompt": "login"}}}
    check_auth(tmp_path / "secrets.toml", auth)
    assert providers(auth) == ["google", "microsoft"]
    with pytest.raises(LaunchError, match=r"\[auth.okta\] has no server_metadata_url"):
        check_auth(tmp_path / "secrets.toml", {**auth, "okta": {"client_id": "a",
                                                                 "client_secret": "b"}})


def test_a_missing_secrets_file_is_named(tmp_path, capsys):
    assert main(["dashboard", "--secrets", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.startswith(f"hearth: {tmp_path / 'nope.toml'}: secrets file "
                                              "not found")
