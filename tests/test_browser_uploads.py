"""Hostile uploads against a running `hearth dashboard`, in a real headless Chromium.

The lead uploads a 5 KB spreadsheet bomb, a 60 MB file and a CSV of random bytes. Each gets
one clear message, and the server answers the next request (the load runs in a child process;
the server process is never the one that fails). Streamlit e2e rules: expect, no fixed sleeps.
"""

from __future__ import annotations

import re
import shutil
import urllib.request

import pytest

from hearth.warehouse import AUDIENCES, published_path
from tests.hostile_files import big_csv, random_bytes_csv, xlsx_bomb
from tests.test_browser import expect, open_and_settle, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lead_dashboard(sample_warehouse, serve, tmp_path_factory):
    db = tmp_path_factory.mktemp("uploads") / "hearth.duckdb"
    shutil.copy(sample_warehouse, db)
    for audience in AUDIENCES:  # every audience's snapshot, as a publish leaves them
        shutil.copy(published_path(sample_warehouse, audience), published_path(db, audience))
    with serve(db, "lead") as served:
        yield served


def choose_and_load(page, path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect()(page.get_by_text(path.name).first).to_be_visible()
    page.get_by_role("button", name="Load files").click()


def server_answers(served) -> None:
    assert served.process.poll() is None, "the dashboard server exited"
    with urllib.request.urlopen(f"{served.url}/_stcore/health", timeout=10) as reply:
        assert reply.status == 200


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: xlsx_bomb(d / "Hearth check-in.xlsx"),
     r"Hearth check-in\.xlsx: sheet 'sheet1' declares A1:XFD1048576 \(1,048,576 rows x 16,384 columns\)"),
    (lambda d: random_bytes_csv(d / "attendance.csv"),
     r"attendance\.csv: file is binary, not a CSV; export it as CSV"),
], ids=["xlsx bomb", "random bytes"])
def test_a_hostile_file_gets_one_clear_line_and_the_server_answers_on(
        page, lead_dashboard, tmp_path, artifacts, make, message):
    path = make(tmp_path)
    open_and_settle(page, f"{lead_dashboard.url}/data", "Data")
    choose_and_load(page, path)
    check = expect()
    check(page.get_by_text("Some files could not be loaded")).to_be_visible()
    check(page.get_by_test_id("stText").first).to_contain_text(re.compile(message))
    screenshot(page, artifacts / f"lead-upload-{path.stem.replace(' ', '-')}.png")
    server_answers(lead_dashboard)
    open_and_settle(page, f"{lead_dashboard.url}/data", "Data")  # the next request
    check(page.get_by_role("heading", name="Upload log")).to_be_visible()
    check(page.get_by_test_id("stException")).to_have_count(0)


def test_a_60_mb_file_is_refused_by_the_uploader_and_the_server_answers_on(
        page, lead_dashboard, tmp_path, artifacts):
    big = big_csv(tmp_path / "attendance_big.csv", megabytes=60)
    open_and_settle(page, f"{lead_dashboard.url}/data", "Data")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
    expect()(page.get_by_text(re.compile(r"File must be 50(\.0)?\s?MB or smaller"))).to_be_visible()
    screenshot(page, artifacts / "lead-upload-too-large.png")
    server_answers(lead_dashboard)
    open_and_settle(page, f"{lead_dashboard.url}/data", "Data")
    expect()(page.get_by_test_id("stException")).to_have_count(0)
