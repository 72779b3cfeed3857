"""Safe uploads: only the lead, every upload in the audit log, hostile files loaded in a child
process with limits, so a bad file fails that process with one clear line and the app answers on.

These run the Data page with Streamlit's AppTest (the browser test in test_browser_uploads.py
does the same against a running server) and the child-process runner directly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import loading
from hearth import state
from hearth.access import local_viewer
from hearth.cli import main
from hearth.config import Config, load_config
from hearth.warehouse import published_path
from pipelines.ingest import ingest_paths
from pipelines.workbook_check import WorkbookError, check_workbook
from tests.community import write_community
from tests.hostile_files import big_csv, random_bytes_csv, write_xlsx, xlsx_bomb

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")
SAMPLE_DIR = ROOT / "data" / "sample"
FORMS = ROOT / "tests" / "fixtures" / "exports" / "microsoft_forms" / "Hearth check-in.xlsx"


class Upload:
    """What st.file_uploader hands the page: a name and the bytes."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def data_page(monkeypatch, db: Path, audience: str = "lead") -> AppTest:
    monkeypatch.setenv("HEARTH_DB", str(db))
    monkeypatch.setenv("HEARTH_AUDIENCE", audience)
    monkeypatch.setenv("HEARTH_CONFIG", str(SAMPLE_DIR / "hearth.toml"))
    at = AppTest.from_file(APP, default_timeout=300).run()
    return at.switch_page("app_pages/data.py").run()


def upload(at: AppTest, files: list[Path]) -> AppTest:
    at.file_uploader(key="upload_files").set_value(
        [(p.name, p.read_bytes(), "application/octet-stream") for p in files])
    return at.button(key="upload_submit").click().run()


def uploads_logged(db: Path) -> list[dict]:
    with state.state(db) as con:
        return state.events(con, "upload")


# --- hostile files, uploaded by the lead -------------------------------------------------------

def test_the_xlsx_bomb_and_random_bytes_get_one_clear_line_and_the_app_answers_on(monkeypatch, tmp_path):
    db = tmp_path / "hearth.duckdb"
    bomb = xlsx_bomb(tmp_path / "in" / "Hearth check-in.xlsx")
    noise = random_bytes_csv(tmp_path / "in" / "attendance.csv")
    assert bomb.stat().st_size < 6_000
    at = upload(data_page(monkeypatch, db), [bomb, noise])
    assert [e.value for e in at.exception] == []
    (error,) = [e.value for e in at.error]
    assert error.startswith("Some files could not be loaded")
    text = at.text[0].value
    assert ("Hearth check-in.xlsx: sheet 'sheet1' declares A1:XFD1048576 (1,048,576 rows x "
            "16,384 columns)") in text
    assert "attendance.csv: file is binary, not a CSV; export it as CSV" in text
    assert "/tmp" not in text and "Traceback" not in text
    # The next request is answered: the same session goes on to a good file.
    good = upload(at, [SAMPLE_DIR / "groups.csv"])
    assert [s.value for s in good.success][:1] == ["Loaded. The pages now show the new data."]
    logged = uploads_logged(db)
    assert [(e["subject"], bool(e["detail"]["error"])) for e in logged] == [
        ("groups.csv", False), ("attendance.csv", True), ("Hearth check-in.xlsx", True)]
    assert logged[0]["detail"]["rows_loaded"] == 20 and logged[0]["actor"] == "local"
    assert all(len(e["detail"]["content_hash"]) == 40 for e in logged)


def test_a_60_mb_file_is_refused_before_loading_and_recorded(tmp_path):
    db = tmp_path / "hearth.duckdb"
    big = big_csv(tmp_path / "attendance.csv", megabytes=60)
    result = loading.ingest_uploads([Upload(big.name, big.read_bytes())], db, Config(),
                                    local_viewer("lead"))
    assert result.failed
    assert result.text.startswith("attendance.csv: is 60.0 MB; uploads may be at most 50 MB "
                                  "(uploads.max_size_mb in hearth.toml)")
    assert not db.exists()  # never reached the warehouse
    (event,) = uploads_logged(db)
    assert event["detail"]["size_bytes"] == big.stat().st_size
    assert event["detail"]["error"].startswith("is 60.0 MB")


def test_the_upload_limit_is_set_in_hearth_toml_and_given_to_streamlit(tmp_path):
    from dashboard.launch import streamlit_command

    config = tmp_path / "hearth.toml"
    config.write_text("[uploads]\nmax_size_mb = 12\n", encoding="utf-8")
    assert load_config(config).upload_max_mb == 12
    command, _ = streamlit_command(tmp_path / "w.duckdb", "lead", 8777, config)
    assert command[command.index("--server.maxUploadSize") + 1] == "12"
    config.write_text("[uploads]\nmax_size_mb = 0\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"uploads.max_size_mb = 0 must be a whole number from 1"):
        load_config(config)


# --- only the lead uploads ---------------------------------------------------------------------

def fabricated_responses(path: Path) -> Path:
    rows = "".join(f"2026Q3,2026-09-2{i}T10:00:00Z,g01,5,5,5,5\n" for i in range(4))
    path.write_text("survey_id,submitted_at,group_id,bel_1,bel_2,bel_3,bel_4\n" + rows,
                    encoding="utf-8")
    return path


def test_four_fabricated_survey_responses_from_a_non_lead_are_refused(monkeypatch, tmp_path):
    fakes = fabricated_responses(tmp_path / "survey_responses.csv")
    db = tmp_path / "hearth.duckdb"
    monkeypatch.setenv("HEARTH_DB", str(db))
    monkeypatch.setenv("HEARTH_AUDIENCE", "coach")
    at = AppTest.from_file(APP, default_timeout=120).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/data.py")  # no Data page, so no upload control, for a coach
    for audience in ("coach", "council"):
        result = loading.ingest_uploads([Upload(fakes.name, fakes.read_bytes())], db,
                                        Config(), local_viewer(audience))
        assert result.failed and "only the program lead uploads files" in result.text
    assert not db.exists() and not published_path(db).exists()
    assert [e["detail"]["error"][:40] for e in uploads_logged(db)] == [
        "only the program lead uploads files (upl"] * 2


# --- the audit log and `hearth status --uploads` -----------------------------------------------

def test_status_uploads_lists_who_uploaded_what(tmp_path, capsys):
    db = tmp_path / "hearth.duckdb"
    community = write_community(tmp_path / "in")
    lead = replace(local_viewer("lead"), email="lead@example.org")
    files = [Upload(p.name, p.read_bytes()) for p in sorted(community.glob("*.csv"))]
    assert not loading.ingest_uploads(files, db, Config(), lead).failed
    assert main(["--db", str(db), "status", "--uploads", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {u["file_name"] for u in listed} == {p.name for p in community.glob("*.csv")}
    assert {u["actor"] for u in listed} == {"lead@example.org"}
    members = next(u for u in listed if u["file_name"] == "members.csv")
    assert (members["rows_read"], members["rows_loaded"], members["rows_duplicate"],
            members["rows_quarantined"], members["error"]) == (4, 4, 0, 0, None)
    assert main(["--db", str(db), "status", "--uploads"]) == 0
    out = capsys.readouterr().out
    assert "lead@example.org  members.csv (" in out
    assert "read 4 = loaded 4 + duplicates 0 + quarantined 0" in out


def test_an_upload_is_recorded_while_a_load_holds_the_warehouse_lock(tmp_path):
    db = tmp_path / "hearth.duckdb"
    writer = duckdb.connect(str(db))  # an ingest holds DuckDB's single write lock
    try:
        writer.execute("BEGIN TRANSACTION")
        writer.execute("CREATE TABLE t AS SELECT 1 AS x")
        groups = SAMPLE_DIR / "groups.csv"
        result = loading.ingest_uploads([Upload(groups.name, groups.read_bytes())], db, Config(),
                                        local_viewer("lead"))
        assert result.failed and "another load is writing to the warehouse" in result.text
        (event,) = uploads_logged(db)
        assert "another load is writing" in event["detail"]["error"]
    finally:
        writer.close()


# --- the child process and the workbook check --------------------------------------------------

def test_a_reader_that_asks_for_512_gib_costs_only_the_child_process(tmp_path, monkeypatch):
    """The workbook check is bypassed on purpose: a module that sets the same limits as the
    real child and hands the bomb straight to the spreadsheet reader. The reader aborts on
    the failed allocation; this process gets one line about memory."""
    module = tmp_path / "greedy_child.py"
    module.write_text(
        "import sys\n"
        "from dashboard.ingest_child import set_limits\n"
        "args = sys.argv[1:]\n"
        "set_limits(int(args[args.index('--memory-mb') + 1]), 60)\n"
        "from python_calamine import CalamineWorkbook\n"
        "CalamineWorkbook.from_path(args[-1]).get_sheet_by_index(0).to_python()\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{ROOT}")
    monkeypatch.setattr(loading, "CHILD", "greedy_child")
    bomb = xlsx_bomb(tmp_path / "bomb.xlsx")
    outcome = loading.ingest_in_child([bomb], tmp_path / "w.duckdb",
                                      replace(Config(), upload_memory_mb=1024))
    assert outcome.summaries == []
    assert outcome.error.startswith("bomb.xlsx: loading needed more than the 1024 MB of memory "
                                    "an upload may use and was stopped; nothing from an "
                                    "unfinished file was stored")


def test_a_child_past_its_time_limit_is_stopped_with_a_clear_line(tmp_path, monkeypatch):
    module = tmp_path / "slow_child.py"
    module.write_text("import threading\nthreading.Event().wait()\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{ROOT}")
    monkeypatch.setattr(loading, "CHILD", "slow_child")
    outcome = loading.ingest_in_child([tmp_path / "x.csv"], tmp_path / "w.duckdb",
                                      replace(Config(), upload_time_limit_s=1))
    assert outcome.error.startswith("x.csv: loading took longer than 1 s and was stopped")


def test_workbook_checks_refuse_bombs_and_pass_a_real_export(tmp_path):
    check_workbook(FORMS)
    spread = write_xlsx(tmp_path / "spread.xlsx", [("A1", "ID"), ("XFD1048576", "x")])
    with pytest.raises(WorkbookError, match=r"sheet 'sheet1' has cells spanning A1:XFD1048576"):
        check_workbook(spread)
    packed = tmp_path / "packed.xlsx"
    import zipfile

    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (50 * 2**20))
    with pytest.raises(WorkbookError, match=r"is compressed [\d,]+ to 1 \(a zip bomb"):
        check_workbook(packed)


def test_ingest_refuses_the_bomb_from_the_command_line_too(tmp_path):
    bomb = xlsx_bomb(tmp_path / "Hearth check-in.xlsx")
    (summary,) = ingest_paths([bomb], db=tmp_path / "w.duckdb", config=Config())
    assert summary.error.startswith("sheet 'sheet1' declares A1:XFD1048576")


def test_the_sample_button_refuses_a_warehouse_with_data(tmp_path, sample_warehouse):
    import shutil

    db = tmp_path / "hearth.duckdb"
    shutil.copy(sample_warehouse, db)
    before = duckdb.connect(str(db), read_only=True).execute(
        "SELECT count(*) FROM raw.load_manifest").fetchone()
    result = loading.load_sample(db, local_viewer("lead"))
    assert result.failed and "the sample is only ever loaded into an empty warehouse" in result.text
    assert duckdb.connect(str(db), read_only=True).execute(
        "SELECT count(*) FROM raw.load_manifest").fetchone() == before
    assert loading.load_sample(tmp_path / "other.duckdb", local_viewer("coach")).failed


def test_the_start_page_is_not_reachable_once_data_is_loaded(monkeypatch, sample_warehouse):
    monkeypatch.setenv("HEARTH_DB", str(sample_warehouse))
    monkeypatch.setenv("HEARTH_AUDIENCE", "lead")
    at = AppTest.from_file(APP, default_timeout=120).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/start.py")
