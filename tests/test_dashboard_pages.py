"""Every page of every audience, run with Streamlit's AppTest: on the sample community, on an
empty warehouse, and with filters that leave no group."""

from __future__ import annotations

import csv
import itertools
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from hearth.warehouse import AUDIENCES, published_path

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"

# The council oversees the program, so it has the quarterly review (aggregates); the Data page
# (uploads, raw rows of every group) is the lead's alone.
AUDIENCE_PAGES = {
    "lead": ["start", "review", "coach", "actions", "compare", "data", "method"],
    "council": ["start", "review", "compare", "actions", "method"],
    "coach": ["start", "coach", "actions", "compare", "method"],
}
ALL_PAGES = {"start", "review", "actions", "compare", "coach", "data", "method"}
CASES = [(a, p) for a, pages in AUDIENCE_PAGES.items() for p in pages]
# The Start page exists only while the warehouse is empty.
SAMPLE_CASES = [(a, p) for a, p in CASES if p != "start"]


def app_for(monkeypatch, db: Path, audience: str, **state) -> AppTest:
    monkeypatch.setenv("HEARTH_DB", str(db))
    monkeypatch.setenv("HEARTH_AUDIENCE", audience)
    config = SAMPLE_DIR / "hearth.toml"
    if config.exists():
        monkeypatch.setenv("HEARTH_CONFIG", str(config))
    else:
        monkeypatch.delenv("HEARTH_CONFIG", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """``page`` as the audience sees it when it opens that page's address: one run of the app
    script. (Running the audience's first page before switching, as a click would, rendered the
    same elements and numbers for every page and audience, at twice the cost: 2026-11-30.)"""
    if page == "start":  # the first page while the warehouse is empty, and only then
        at.run()
        if at.title[0].value != "Welcome to Hearth":
            at.switch_page("app_pages/start.py").run()  # raises: not a page once data is loaded
        return at
    # before the first run AppTest names the page by its file name, which is the page's address
    # (no page sets its own url_path)
    at.switch_page(f"app_pages/{page}.py").run()
    # st.navigation falls back to the first page for an address it does not have; once the
    # pages are registered, switch_page raises for a page this audience may not open
    at.switch_page(f"app_pages/{page}.py")
    return at


def apply_filters(at: AppTest) -> AppTest:
    """Press the sidebar's "Apply filters" (the group filters are a form)."""
    next(b for b in at.button if b.label == "Apply filters").click().run()
    return at


def charts_of(at: AppTest) -> list:
    return at.get("plotly_chart")


def no_exception(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []


# --- the sample community ----------------------------------------------------------------------

@pytest.mark.parametrize(("audience", "page"), SAMPLE_CASES)
def test_every_page_renders_on_the_sample(sample_page, audience, page):
    at = sample_page(audience, page)
    no_exception(at)
    assert at.title, f"{audience}/{page} has no title"


def test_audiences_see_only_their_pages(monkeypatch, sample_warehouse):
    for audience, pages in AUDIENCE_PAGES.items():
        at = app_for(monkeypatch, sample_warehouse, audience).run()
        for hidden in sorted(ALL_PAGES - set(pages) | {"start"}):
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(f"app_pages/{hidden}.py")


def test_review_shows_the_named_kpis_and_the_report_and_no_chart_until_asked(sample_page):
    """The review opens with its tiles, highlights and report and no chart: the browser loads
    Plotly only when a section is picked (the sections are opened below)."""
    from dashboard.quarterly import PICK_A_SECTION

    at = sample_page("lead", "review")
    no_exception(at)
    labels = [m.label for m in at.metric]
    for name in ("Attendance rate", "Active members", "Belonging", "Psychological safety",
                 "Peer support", "Hosting breadth"):
        assert name in labels
    assert at.segmented_control(key="review_section").value is None
    assert charts_of(at) == []
    assert PICK_A_SECTION in [c.value for c in at.caption]
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:2] == ["Key indicators", "Highlights"]
    assert not {"Trends over the quarters", "Participation and retention",
                "Inclusion"} & set(subheaders)
    labels = [b.label for b in at.get("download_button")]
    assert "Download the quarterly review (HTML)" in labels


@pytest.mark.parametrize(("section", "title", "charts"), [
    ("trends", "Trends over the quarters", 6),             # the six trends
    ("participation", "Participation and retention", 2),  # the funnel and retention
    ("inclusion", "Inclusion", 1),                          # the open tab's breakdown
])
def test_review_draws_the_section_picked_and_only_it(sample_page, section, title, charts):
    """The review's charts come one section at a time ("Look closer"), none until one is
    picked: the trends, the participation funnel and retention, or the inclusion breakdowns."""
    at = sample_page("lead", "review", review_section=section)
    no_exception(at)
    assert at.segmented_control(key="review_section").value == section
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:3] == ["Key indicators", "Highlights", title]
    assert not ({"Trends over the quarters", "Participation and retention", "Inclusion"}
                - {title}) & set(subheaders)
    assert len(charts_of(at)) == charts
    labels = [b.label for b in at.get("download_button")]
    assert "Download the quarterly review (HTML)" in labels
    # every chart has its CSV
    assert sum(label == "Download data (CSV)" for label in labels) >= len(charts_of(at))


def test_review_tiles_say_cant_tell_yet_in_words(sample_page):
    at = sample_page("lead", "review")
    quarters = at.selectbox(key="filter_quarter").options
    oldest = sample_page("lead", "review", filter_quarter=quarters[-1])
    no_exception(oldest)
    captions = " ".join(c.value for c in oldest.caption).lower()
    assert "can't tell yet" in captions  # the first quarter has nothing to compare with


def test_compare_shows_heatmap_funnel_and_ranking(sample_page):
    at = sample_page("council", "compare")
    no_exception(at)
    assert [s.value for s in at.subheader][:5] == [
        "Needs attention first", "Groups at a glance",
        "Funnel plots: which differences are more than chance?", "Ranking, with its uncertainty",
        "Roll up, then drill down"]
    assert len(charts_of(at)) == 3
    assert "Attendance rate" in at.selectbox(key="compare_indicator").options or \
        at.selectbox(key="compare_indicator").options


def test_coach_shows_flags_drilldown_and_watchlist(sample_page):
    at = sample_page("coach", "coach")
    no_exception(at)
    subheaders = [s.value for s in at.subheader]
    assert "Group drill-down" in subheaders
    assert "Members showing withdrawal signals" in subheaders
    assert len(charts_of(at)) >= 2


def test_coach_says_since_when_each_flag_is_raised_and_what_chance_would_raise(sample_page):
    at = sample_page("coach", "coach", filter_quarter="2026Q3", drilldown_group="g08")
    no_exception(at)
    flags = at.dataframe[0].value
    since = dict(zip(flags["flag_title"], flags["since_text"], strict=True))
    assert since["One person hosts every session"] == \
        "continuing: 3 quarters running (since 2026Q1)"
    assert since["Newcomers are not coming back"] == "new this quarter"
    texts = [t.value for t in at.text]
    assert any(t.startswith("Resolved this quarter (raised last quarter, not now): ")
               and "the group is shrinking" in t for t in texts)
    assert any(c.value.startswith("By chance alone, a program of 20 groups would see about one "
                                  "flag every ") for c in at.caption)


def test_data_page_shows_manifest_quarantine_and_freshness(sample_page):
    at = sample_page("lead", "data")
    no_exception(at)
    assert [s.value for s in at.subheader] == [
        "Load files", "Upload log", "Load history", "Quarantine", "Freshness per group"]
    manifest = at.dataframe[0].value
    loaded = {p.name for p in SAMPLE_DIR.rglob("*") if p.suffix in {".csv", ".xlsx", ".tsv"}}
    assert set(manifest["file_name"]) == loaded


def test_method_page_shows_definitions_instrument_and_rules(sample_page):
    at = sample_page("council", "method")
    no_exception(at)
    assert [t.label for t in at.tabs] == [
        "Indicator definitions", "Survey instrument and reliability", "Anonymity rules"]
    items = at.dataframe[0].value
    assert items.loc[items["item"] == "psy_1", "reverse_keyed"].tolist() == [True]
    assert items.loc[items["item"] == "psy_2", "reverse_keyed"].tolist() == [False]
    assert "fewer than 5 responses" in " ".join(m.value for m in at.markdown)


def member_names() -> set[str]:
    with (SAMPLE_DIR / "members.csv").open(encoding="utf-8-sig") as handle:
        return {row["name"] for row in csv.DictReader(handle)}


def all_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("markdown", "text", "caption", "title", "subheader",
                                       "metric", "info", "warning", "success")
             for e in getattr(at, kind)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for selectbox in at.selectbox:
        parts.extend(str(o) for o in selectbox.options)
    return "\n".join(parts)


def test_council_pages_show_no_member_name(sample_page):
    names = member_names()
    for page in [p for a, p in SAMPLE_CASES if a == "council"]:
        at = sample_page("council", page)
        text = all_text(at)
        assert [n for n in names if n in text] == [], page


def test_coach_watchlist_names_members(sample_page, sample_warehouse):
    with duckdb.connect(str(published_path(sample_warehouse, "coach")), read_only=True) as con:
        row = con.execute("SELECT quarter, group_id, member_name FROM marts.watchlist "
                          "ORDER BY quarter DESC LIMIT 1").fetchone()
    assert row is not None, "the sample should have at least one member drifting away"
    quarter, group_id, name = row
    at = sample_page("coach", "coach", filter_quarter=quarter, drilldown_group=group_id)
    no_exception(at)
    assert name in all_text(at)


# --- an empty warehouse ------------------------------------------------------------------------

@pytest.mark.parametrize(("audience", "page"), CASES)
def test_every_page_renders_on_an_empty_warehouse(monkeypatch, tmp_path, audience, page):
    at = open_page(app_for(monkeypatch, tmp_path / "empty.duckdb", audience), page)
    no_exception(at)
    assert at.title


def test_empty_warehouse_opens_on_the_start_page(monkeypatch, tmp_path):
    at = app_for(monkeypatch, tmp_path / "empty.duckdb", "lead").run()
    assert at.title[0].value == "Welcome to Hearth"
    assert [b.label for b in at.button] == ["Load the bundled sample"]


def test_start_page_loads_the_bundled_sample(monkeypatch, tmp_path):
    db = tmp_path / "hearth.duckdb"
    at = app_for(monkeypatch, db, "lead").run()
    at.button(key="load_sample").click().run()
    no_exception(at)
    assert published_path(db).exists()
    assert at.title[0].value.startswith("Quarterly review")


def test_upload_goes_through_the_ingestion_pipeline(monkeypatch, tmp_path):
    db = tmp_path / "hearth.duckdb"
    at = open_page(app_for(monkeypatch, db, "lead"), "data")
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted(SAMPLE_DIR.glob("*.csv"))]
    at.file_uploader(key="upload_files").set_value(files)
    at.button(key="upload_submit").click().run()
    no_exception(at)
    assert [s.value for s in at.success][:1] == ["Loaded. The pages now show the new data."]
    summary = at.dataframe[0].value
    assert sorted(summary["file"].map(lambda f: Path(f).name)) == sorted(f[0] for f in files)
    assert (summary["rows_read"] == summary["rows_loaded"] + summary["rows_duplicate"]
            + summary["rows_quarantined"]).all()


# --- filters that leave nothing ----------------------------------------------------------------

def empty_filter(db: Path) -> dict[str, list[str]]:
    """Two filter values, on different dimensions, that no group has together."""
    dims = {"modality": "modality", "language": "language", "tz_band": "tz_band",
            "tier": "dominant_tier", "coach": "coach", "size_band": "size_band"}
    with duckdb.connect(str(published_path(db)), read_only=True) as con:
        groups = con.execute("SELECT * FROM marts.groups").df()
    for (a, col_a), (b, col_b) in itertools.combinations(dims.items(), 2):
        for va in groups[col_a].dropna().unique():
            for vb in groups[col_b].dropna().unique():
                if not ((groups[col_a] == va) & (groups[col_b] == vb)).any():
                    return {f"filter_{a}": [str(va)], f"filter_{b}": [str(vb)]}
    raise AssertionError("every combination of two filters matches a group")


@pytest.mark.parametrize("page", ["review", "compare", "coach"])
def test_filters_that_leave_nothing_say_so(sample_page, sample_warehouse, page):
    audience = "coach" if page == "coach" else "lead"
    at = sample_page(audience, page, **empty_filter(sample_warehouse))
    no_exception(at)
    assert [i.value for i in at.info][-1] == (
        "No group matches these filters. Widen the filters in the sidebar to see results.")


def test_a_new_publish_is_shown_without_restarting(monkeypatch, tmp_path, sample_warehouse,
                                                  sample_hearth_config):
    db = tmp_path / "hearth.duckdb"
    shutil.copy(sample_warehouse, db)
    for audience in AUDIENCES:
        shutil.copy(published_path(sample_warehouse, audience), published_path(db, audience))
    at = open_page(app_for(monkeypatch, db, "lead"), "data")
    before = len(at.dataframe[0].value)
    extra = tmp_path / "late_checkins.csv"
    extra.write_text("member_id,buddy_id,checked_in_at,channel\n"
                     "m0001,m0002,2026-09-30T12:00:00+01:00,call\n", encoding="utf-8")
    from hearth.orchestrate import ingest

    ingest([extra], db=db, config=sample_hearth_config)
    at.run()
    manifest = at.dataframe[0].value
    assert len(manifest) == before + 1
    assert manifest["file_name"].iloc[0] == "late_checkins.csv"


def test_review_of_a_filtered_slice_pools_the_selected_groups(sample_page, sample_warehouse):
    with duckdb.connect(str(published_path(sample_warehouse)), read_only=True) as con:
        modality, = con.execute("SELECT mode(modality) FROM marts.groups").fetchone()
    at = sample_page("lead", "review", filter_modality=[modality])
    no_exception(at)
    assert at.caption[0].value.startswith("Filtered: ")
    assert "Attendance rate" in [m.label for m in at.metric]


def test_the_review_report_is_one_file_with_every_chart(sample_warehouse, sample_hearth_config):
    from dashboard import queries

    snap = queries.snapshot(sample_warehouse)
    quarter = queries.default_quarter(snap)
    page = queries.review_report(snap, quarter, None, sample_hearth_config)
    assert page.startswith("<!DOCTYPE html>")
    assert f"quarterly review {quarter}" in page
    assert page.count("Plotly.newPlot") >= 8  # trends, funnel, retention, inclusion
    assert "<script src=" not in page
    assert [n for n in member_names() if n in page] == []


def test_filters_survive_a_visit_to_a_page_without_them(monkeypatch, sample_warehouse):
    at = open_page(app_for(monkeypatch, sample_warehouse, "lead"), "review")
    quarters = at.selectbox(key="filter_quarter").options
    at.selectbox(key="filter_quarter").select(quarters[-1]).run()
    language = at.multiselect(key="filter_language").options[0]
    at.multiselect(key="filter_language").select(language)
    apply_filters(at)
    at.switch_page("app_pages/method.py").run()
    at.switch_page("app_pages/review.py").run()
    no_exception(at)
    assert at.selectbox(key="filter_quarter").value == quarters[-1]
    assert at.multiselect(key="filter_language").value == [language]
