"""Inclusion breakdowns never pool a hidden group: a category's survey figure is built only from
groups whose own figure is shown, so no subtraction across two breakdowns recovers a hidden group."""

from __future__ import annotations

import duckdb


def test_a_shown_category_counts_exactly_the_responses_of_its_shown_groups(sample_warehouse):
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        mismatches = con.execute(
            """
            WITH shown_groups AS (
                SELECT i.quarter, i.indicator, g.modality, g.language, g.tz_band, i.n
                FROM marts.indicators i JOIN marts.groups g USING (group_id)
                WHERE i.group_id IS NOT NULL AND i.status = 'ok' AND NOT i.pooled
                  AND i.indicator IN ('belonging', 'psychological_safety', 'peer_support',
                                      'loneliness_share', 'willingness_to_lead')
            ),
            by_category AS (
                SELECT quarter, indicator, dimension, category, sum(n) AS n
                FROM shown_groups
                UNPIVOT (category FOR dimension IN (modality, language, tz_band))
                GROUP BY ALL
            )
            SELECT x.quarter, x.dimension, x.category, x.indicator, x.n, c.n AS from_shown_groups
            FROM marts.inclusion x LEFT JOIN by_category c USING (quarter, indicator, dimension, category)
            WHERE x.status = 'ok' AND x.dimension IN ('modality', 'language', 'tz_band')
              AND x.indicator IN ('belonging', 'psychological_safety', 'peer_support',
                                  'loneliness_share', 'willingness_to_lead')
              AND x.n IS DISTINCT FROM c.n
            """
        ).fetchall()
        shown = con.execute(
            "SELECT count(*) FROM marts.inclusion WHERE status = 'ok' AND indicator = 'belonging'"
        ).fetchone()[0]
    finally:
        con.close()
    assert shown > 0
    assert mismatches == []
