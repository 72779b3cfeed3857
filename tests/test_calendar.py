"""Quarter labels, calendar and fiscal, in Python and in the SQL the refresh uses."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from hearth.calendar import (
    parse_quarter,
    previous_quarter,
    quarter_bounds,
    quarter_end_sql,
    quarter_of,
    quarter_sql,
    quarter_start_sql,
)


def test_calendar_quarters():
    assert [quarter_of(date(2025, m, 15)) for m in (1, 3, 4, 7, 12)] == [
        "2025Q1", "2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert quarter_bounds("2025Q3") == (date(2025, 7, 1), date(2025, 9, 30))
    assert quarter_bounds("2024Q1") == (date(2024, 1, 1), date(2024, 3, 31))


def test_fiscal_years_are_named_by_the_year_they_end_in():
    # a year starting in April: April-June 2025 is the first quarter of fiscal 2026
    assert quarter_of(date(2025, 4, 1), 4) == "2026Q1"
    assert quarter_of(date(2025, 3, 31), 4) == "2025Q4"
    assert quarter_of(date(2026, 1, 10), 4) == "2026Q4"
    assert quarter_bounds("2026Q1", 4) == (date(2025, 4, 1), date(2025, 6, 30))
    assert quarter_bounds("2026Q4", 4) == (date(2026, 1, 1), date(2026, 3, 31))


def test_previous_quarter_crosses_years():
    assert previous_quarter("2025Q1") == "2024Q4"
    assert previous_quarter("2025Q3") == "2025Q2"


def test_a_bad_label_says_how_to_write_one():
    with pytest.raises(ValueError, match="write it like 2025Q3"):
        parse_quarter("Q3 2025")


@pytest.mark.parametrize("month", [1, 2, 4, 7, 10, 12])
def test_sql_and_python_agree_on_every_day_of_two_years(month):
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT d::DATE, {quarter_sql('d::DATE', month)} AS q, "
        f"{quarter_start_sql(quarter_sql('d::DATE', month), month)} AS s, "
        f"{quarter_end_sql(quarter_sql('d::DATE', month), month)} AS e "
        "FROM generate_series(DATE '2024-01-01', DATE '2025-12-31', INTERVAL 1 DAY) t(d)"
    ).fetchall()
    for day, label, start, end in rows:
        assert label == quarter_of(day, month)
        assert (start, end) == quarter_bounds(label, month)


def test_refresh_labels_quarters_by_the_fiscal_year(tmp_path):
    from hearth.config import Config
    from hearth.warehouse import connect
    from tests.metrics_world import World

    con = connect(tmp_path / "w.duckdb")
    w = World(con).group("g1", "2025-03-03")
    w.member("a", "g1", "2025-03-03")
    w.pattern("a", w.sessions("g1", "2025-03-03", 8, hosts=["a"]), "AAAAAAAA")
    w.refresh(Config(fiscal_year_start_month=4))
    held = con.execute(
        "SELECT quarter, value, target FROM marts.indicators WHERE indicator = 'sessions_held' "
        "AND group_id = 'g1' ORDER BY quarter").fetchall()
    # March 2025 closes fiscal 2025; April starts fiscal 2026 (sessions to 21 April)
    assert held == [("2025Q4", 5.0, 5.0), ("2026Q1", 3.0, 3.0)]
    con.close()
