"""Tiny hand-made communities for the metrics tests, written straight into core.* with SQL.

World(con).group(...).member(...).session(...).attend(...) reads like the story it sets up; the
expected figures in each test are worked out by hand from that story.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from hearth.config import Config
from hearth.instrument import load_instrument
from metrics.refresh import refresh

ITEMS = {i.item_id: i for i in load_instrument().items}


class World:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._responses = 0

    def group(self, group_id: str, started_on: str, cadence_days: int = 7, **extra) -> World:
        values = {"name": f"Group {group_id}", "modality": "video", "language": "en",
                  "time_zone": "UTC", "coach": "Coach", "cohort": "pilot", **extra}
        self.con.execute(
            "INSERT INTO core.groups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [group_id, values["name"], values["modality"], values["language"],
             values["time_zone"], cadence_days, values["coach"], started_on, values["cohort"]],
        )
        return self

    def member(self, member_id: str, group_id: str, joined_on: str, left_on: str | None = None,
               tier: str = "standard", role: str = "member") -> World:
        if not self.con.execute("SELECT count(*) FROM core.members WHERE member_id = ?",
                                [member_id]).fetchone()[0]:
            self.con.execute("INSERT INTO core.members VALUES (?, ?, NULL, 1)",
                             [member_id, f"Member {member_id}"])
        self.con.execute("INSERT INTO core.memberships VALUES (?, ?, ?, ?, ?, ?, 1)",
                         [member_id, group_id, joined_on, left_on, role, tier])
        return self

    def session(self, session_id: str, group_id: str, day: str, host: str | None = None,
                captioned: bool = False) -> World:
        self.con.execute(
            "INSERT INTO core.sessions VALUES (?, ?, ?, ?, 60, ?, 'video', ?, 1)",
            [session_id, group_id, datetime.fromisoformat(day + "T18:00:00+00:00"), day, host,
             captioned],
        )
        return self

    def sessions(self, group_id: str, first: str, count: int, every_days: int = 7,
                 hosts: list[str | None] | None = None, number_from: int = 1) -> list[str]:
        """`count` sessions from `first`, ids <group>-s1.., hosts in turn; returns the ids."""
        start = date.fromisoformat(first)
        ids = []
        for i in range(count):
            sid = f"{group_id}-s{i + number_from}"
            host = hosts[i % len(hosts)] if hosts else None
            self.session(sid, group_id, (start + timedelta(days=every_days * i)).isoformat(),
                         host)
            ids.append(sid)
        return ids

    def attend(self, session_id: str, member_id: str, status: str = "attended") -> World:
        self.con.execute("INSERT INTO core.attendance VALUES (?, ?, ?, 60, 1)",
                         [session_id, member_id, status])
        return self

    def pattern(self, member_id: str, session_ids: list[str], marks: str) -> World:
        """marks: one character per session: A attended, E excused, . no row (absent)."""
        for sid, mark in zip(session_ids, marks, strict=True):
            if mark == "A":
                self.attend(sid, member_id)
            elif mark == "E":
                self.attend(sid, member_id, "excused")
        return self

    def checkin(self, member_id: str, buddy_id: str, day: str) -> World:
        self.con.execute("INSERT INTO core.buddy_checkins VALUES (?, ?, ?, 'call', 1)",
                         [member_id, buddy_id, datetime.fromisoformat(day + "T12:00:00+00:00")])
        return self

    def response(self, survey_id: str, day: str, group_id: str | None,
                 comment: str | None = None, **answers: int | None) -> World:
        self._responses += 1
        rid = f"r{self._responses:04d}"
        self.con.execute(
            "INSERT INTO core.survey_responses VALUES (?, ?, ?, ?, ?, 1)",
            [rid, survey_id, datetime.fromisoformat(day + "T12:00:00+00:00"), group_id, comment],
        )
        for item_id, value in answers.items():
            if value is not None:
                self.con.execute("INSERT INTO core.survey_answers VALUES (?, ?, ?)",
                                 [rid, item_id, value])
        return self

    def refresh(self, config: Config | None = None) -> dict[str, int]:
        return refresh(self.con, config or Config())

    # --- reading results ---------------------------------------------------------------

    def indicator(self, quarter: str, group_id: str | None, key: str) -> dict:
        frame = self.con.execute(
            "SELECT * FROM marts.indicators WHERE quarter = ? AND indicator = ? "
            "AND group_id IS NOT DISTINCT FROM ?", [quarter, key, group_id]).df()
        assert len(frame) == 1, f"{quarter} {group_id} {key}: {len(frame)} rows"
        return frame.iloc[0].to_dict()


def answers(**kw: int | None) -> dict[str, int | None]:
    return kw


def same(prefix: str, count: int, value: int | None) -> dict[str, int | None]:
    """All `count` items of a construct (bel, psy, sup, lon) answered `value`."""
    return {f"{prefix}_{i}": value for i in range(1, count + 1)}
