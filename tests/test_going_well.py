"""Going well: what a recognition rests on (metrics.going_well)."""

from __future__ import annotations

import pandas as pd

from hearth.config import Config
from metrics import api, going_well


def _row(group_id, indicator, verdict, delta):
    return {"quarter": "2025Q2", "group_id": group_id, "indicator": indicator, "value": 20.0,
            "n": 40, "ci_low": 18.0, "ci_high": 22.0, "status": "ok", "pooled": False,
            "delta": delta, "verdict": verdict, "p_adjusted": 0.01, "note": None}


def test_the_programs_own_improvement_is_listed_as_the_programs_not_a_groups(monkeypatch):
    # One program row among group rows: a string column turned its None into NaN and the
    # program's improvement was listed as a group with no name.
    rows = pd.DataFrame([_row(None, "sessions_held", "up", 12.0),
                         _row("g1", "sessions_held", "up", 3.0)])
    asked = {}

    def indicators(con, quarter, group_ids=None, indicator=None, verdicts=None):
        asked["verdicts"] = verdicts
        return rows.copy()

    monkeypatch.setattr(api, "resolve_quarter", lambda con, q: "2025Q2")
    monkeypatch.setattr(api, "indicators", indicators)
    monkeypatch.setattr(api, "group_names_of", lambda con, ids: {
        g: n for g, n in {"g1": "Group one"}.items() if g in ids})
    monkeypatch.setattr(going_well, "_strong", lambda con, q: set())
    found = going_well.going_well_computed(None, "2025Q2", Config())
    assert [p["indicator"] for p in found["program"]] == ["sessions_held"]
    assert [(g["group_id"], g["name"]) for g in found["groups"]] == [("g1", "Group one")]
    # only rows whose verdict moved are read: nothing else can be recognised
    assert asked["verdicts"] == ("up", "down")
