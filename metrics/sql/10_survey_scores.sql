-- reads: core.groups, core.survey_answers, core.survey_responses, stage_instrument, stage_scope
-- writes: stage_responses(response_id, group_id, comment, quarter, submitted_on)
-- writes: stage_constructs(construct, n_items, scale_min, scale_max)
-- writes: stage_item_scores(response_id, construct, item_id, keyed)
-- writes: marts.survey_scores(quarter, group_id, construct, score)
-- writes: stage_survey_units(quarter, group_id, indicator, n, mean, sd, hits, sum_score, sum_sq)
-- writes: stage_survey_responses(quarter, group_id, responses, comments)
--
-- Survey scoring, from the instrument (core.instrument_items, copied to stage_instrument by the
-- runner): reverse keying is read from it, never inferred from an item's position. A response counts for a construct when it answers
-- at least half of the construct's items.
--   index constructs: (mean keyed item - scale min) / (scale max - scale min) * 100, 0-100
--   loneliness: total on 3-9 (mean item x items, so a skipped item is prorated); lonely from
--     metrics.definitions.LONELY_TOTAL (6), as the macro is_lonely(total)
--   willingness_to_lead: mean item on its scale; agreeing from metrics.definitions.WILLING_SCORE
--     (4, the top two points of 1-5), as the macro is_willing(score)
-- A response belongs to the quarter its survey_id names when that is a quarter label like
-- 2025Q3, otherwise to the quarter of its submission date in the program's time zone.

-- The self-reported group is matched to a group by id, or else by name (survey tools often
-- offer the group's name); anything else counts for the program only.
CREATE OR REPLACE TEMP TABLE stage_responses AS
SELECT * FROM (
SELECT response_id,
       coalesce(
           (SELECT g.group_id FROM core.groups g WHERE g.group_id = trim(r.group_id)),
           (SELECT min(g.group_id) FROM core.groups g
            WHERE lower(trim(g.name)) = lower(trim(r.group_id)))
       ) AS group_id,
       comment,
       CASE WHEN regexp_full_match(upper(trim(survey_id)), '\d{4}Q[1-4]')
            THEN upper(trim(survey_id))
            ELSE quarter_of(local_date(submitted_at)) END AS quarter,
       local_date(submitted_at) AS submitted_on
FROM core.survey_responses r
)
WHERE quarter >= (SELECT since FROM stage_scope);

CREATE OR REPLACE TEMP TABLE stage_constructs AS
SELECT construct, count(*) AS n_items, min(scale_min) AS scale_min, max(scale_max) AS scale_max
FROM stage_instrument GROUP BY construct;

CREATE OR REPLACE TEMP TABLE stage_item_scores AS
SELECT a.response_id, i.construct, i.item_id,
       CASE WHEN i.reverse_keyed THEN i.scale_min + i.scale_max - a.value
            ELSE a.value END AS keyed
FROM core.survey_answers a
JOIN stage_instrument i USING (item_id)
SEMI JOIN stage_responses r USING (response_id)
WHERE a.value BETWEEN i.scale_min AND i.scale_max;

-- One row per response x construct. Rows are sorted by score, so row order cannot be used to
-- re-link one response's constructs.
CREATE TABLE marts.survey_scores AS
WITH per_response AS (
    SELECT s.response_id, s.construct, avg(s.keyed) AS mean_item, count(*) AS answered
    FROM stage_item_scores s GROUP BY ALL
)
SELECT r.quarter, r.group_id, p.construct,
       CASE p.construct
           WHEN 'loneliness' THEN p.mean_item * c.n_items
           WHEN 'willingness_to_lead' THEN p.mean_item
           ELSE (p.mean_item - c.scale_min) / (c.scale_max - c.scale_min) * 100
       END AS score
FROM per_response p
JOIN stage_constructs c USING (construct)
JOIN stage_responses r USING (response_id)
WHERE p.answered * 2 >= c.n_items
ORDER BY r.quarter, r.group_id, p.construct, score;

-- Per unit x quarter x indicator: n, mean, sd, hits and the additive sums. A unit is a group, or
-- (group_id NULL) the responses that name no known group. There is no program row here: the
-- program is the sum of its units as published (metrics.release keeps what was last published).
CREATE OR REPLACE TEMP TABLE stage_survey_units AS
WITH scored AS (
    SELECT quarter, group_id,
           CASE construct WHEN 'loneliness' THEN 'loneliness_share' ELSE construct END
               AS indicator,
           score,
           CASE construct
               WHEN 'loneliness' THEN is_lonely(score)::INTEGER
               WHEN 'willingness_to_lead' THEN is_willing(score)::INTEGER
           END AS hit
    FROM marts.survey_scores
)
SELECT quarter, group_id, indicator, count(*) AS n, avg(score) AS mean,
       stddev_samp(score) AS sd, coalesce(sum(hit), 0) AS hits, sum(score) AS sum_score,
       sum(score * score) AS sum_sq
FROM scored GROUP BY ALL;

-- Responses per unit (any construct), which is what anonymity thresholds count.
CREATE OR REPLACE TEMP TABLE stage_survey_responses AS
SELECT quarter, group_id, count(*) AS responses,
       count(comment) FILTER (WHERE trim(comment) <> '') AS comments
FROM stage_responses GROUP BY ALL;
