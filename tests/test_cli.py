"""The `hearth` command: documented, helpful, and never a traceback for things users can cause."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from hearth.cli import build_parser, main
from tests.community import write_community

ROOT = Path(__file__).resolve().parents[1]


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `hearth ([\w-]+)", readme, flags=re.M))
    assert documented == set(subcommands())


def test_init_writes_a_config_that_loads_and_refuses_to_overwrite(tmp_path, capsys):
    from hearth.config import load_config

    target = tmp_path / "hearth.toml"
    assert main(["init", str(target), "--name", "Circles", "--time-zone", "Europe/London"]) == 0
    config = load_config(target)
    assert (config.program_name, config.time_zone, config.min_responses, config.min_comments) == (
        "Circles", "Europe/London", 5, 10)
    assert main(["init", str(target)]) == 2
    assert "already exists; pass --force" in capsys.readouterr().err


def test_a_config_below_the_anonymity_floor_is_refused_with_the_reason(tmp_path, capsys):
    config = tmp_path / "hearth.toml"
    config.write_text("[anonymity]\nmin_responses = 2\n", encoding="utf-8")
    assert main(["--config", str(config), "--db", str(tmp_path / "w.duckdb"), "ingest", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "min_responses = 2 is below 3" in err and "Traceback" not in err
    config.write_text("[anonymity]\nmin_comments = 5\n", encoding="utf-8")
    assert main(["--config", str(config), "--db", str(tmp_path / "w.duckdb"), "ingest", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "min_comments = 5 is below 10" in err and "Traceback" not in err


def test_status_lists_files_quarantine_and_freshness(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    community = write_community(tmp_path / "c")
    (community / "attendance.csv").write_text(
        (community / "attendance.csv").read_text() + "g01-2025-04-08,m01,late,5\n", encoding="utf-8")
    assert main(["--db", str(db), "ingest", "--no-refresh", str(community)]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [(f["file_name"], f["rows_loaded"], f["rows_quarantined"]) for f in status["files"]] == [
        ("groups.csv", 2, 0), ("members.csv", 4, 0), ("sessions.csv", 3, 0),
        ("attendance.csv", 6, 1), ("buddy_checkins.csv", 2, 0), ("survey_responses.csv", 2, 0),
    ]
    assert status["quarantine"] == [
        {"file_name": "attendance.csv", "column_name": "status",
         "reason": "must be one of: attended, absent, excused", "rows": 1},
    ]
    # g01's two survey responses are hidden (under k): status never dates them
    assert [(g["group_id"], g["latest_session"], g["latest_survey_quarter"])
            for g in status["groups"]] == [("g01", "2025-04-08", None), ("g02", "2025-07-01", None)]
    assert main(["--db", str(db), "status"]) == 0
    text = capsys.readouterr().out
    assert "attendance.csv  status: must be one of: attended, absent, excused" in text


def test_the_second_ingest_of_the_same_files_says_nothing_was_added(tmp_path):
    """The one test that runs the installed `hearth` command as a user would (a smoke test of
    the entry point, for the second ingest); every other CLI call runs main() in this process."""
    db = tmp_path / "w.duckdb"
    community = write_community(tmp_path / "c")
    args = ["--db", str(db), "ingest", "--no-refresh", str(community)]
    assert main(args) == 0
    hearth = Path(sys.executable).with_name("hearth")
    second = subprocess.run([str(hearth), *args], check=True, capture_output=True, text=True).stdout
    assert second.splitlines()[-1] == "6 file(s): 0 rows loaded (nothing new: everything here was loaded before)"


def test_a_folder_without_data_files_is_named_with_what_hearth_reads(tmp_path, capsys):
    (tmp_path / "notes.md").write_text("nothing to load", encoding="utf-8")
    assert main(["--db", str(tmp_path / "w.duckdb"), "ingest", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"hearth: {tmp_path}: no data files here; Hearth reads .csv, .tsv, .txt, .xlsx and .ods files\n")


def test_the_global_options_may_follow_the_command(sample_warehouse, capsys):
    assert main(["--db", str(sample_warehouse), "status", "--json"]) == 0
    before = capsys.readouterr().out
    assert main(["status", "--json", "--db", str(sample_warehouse)]) == 0
    assert capsys.readouterr().out == before
    # given before the command, they are not overwritten by the command's own (absent) copy
    assert build_parser().parse_args(["--db", "a.duckdb", "status"]).db == "a.duckdb"


def test_only_the_running_command_is_built_and_the_help_still_lists_every_command():
    full = build_parser()
    for running in ("", "review", "status"):
        parser = build_parser(running=running)
        assert parser.format_help() == full.format_help()
        action = next(a for a in parser._actions if a.dest == "command")
        assert sorted(action.choices) == subcommands()
    args = build_parser(running="review").parse_args(["review", "--quarter", "2026Q1", "--json"])
    assert (args.command, args.quarter, args.json, args.func.__name__) == (
        "review", "2026Q1", True, "cmd_review")


def test_the_command_is_found_after_global_options_abbreviated_or_not(sample_warehouse, capsys):
    assert main(["--db", str(sample_warehouse), "status", "--json"]) == 0
    whole = capsys.readouterr().out
    assert main(["--d", str(sample_warehouse), "status", "--json"]) == 0
    assert capsys.readouterr().out == whole
    assert main([f"--db={sample_warehouse}", "status", "--json"]) == 0
    assert capsys.readouterr().out == whole


def test_json_output_is_indented_at_a_terminal_and_compact_when_piped(monkeypatch, capsys):
    """--json is for programs (compact, the fast C encoder) unless a person reads it at a
    terminal (indented); both parse to the same value."""
    from metrics.presentation import print_json

    value = {"quarter": "2026Q3", "groups": [{"id": "g01", "n": 7}], "note": "can't tell yet"}
    print_json(value)
    piped = capsys.readouterr().out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    print_json(value)
    at_terminal = capsys.readouterr().out
    assert "\n" not in piped.strip() and '"quarter":"2026Q3"' in piped
    assert '\n  "quarter": "2026Q3",' in at_terminal
    assert json.loads(piped) == json.loads(at_terminal) == value
