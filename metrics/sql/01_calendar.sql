-- reads: core.sessions, core.survey_responses
-- writes: stage_calendar(data_end, data_start)
-- writes: stage_quarters(quarter, q_start, q_end, ref_date)
--
-- The refresh's calendar: when the data ends, and every quarter from the first session to then.
-- Macros quarter_of(d), quarter_start(q), quarter_end(q) and local_date(ts) come from the runner
-- (metrics/refresh.py), which builds them from the configuration.

CREATE OR REPLACE TEMP TABLE stage_calendar AS
SELECT
    coalesce(max(session_date), current_date) AS data_end,
    coalesce(min(session_date), current_date) AS data_start
FROM core.sessions;

-- ref_date: where a quarter's "as of" figures are taken (its last day, or the data's end if the
-- quarter is still running), so the current quarter is judged on the days it has had.
CREATE OR REPLACE TEMP TABLE stage_quarters AS
WITH days AS (
    SELECT unnest(generate_series(
        date_trunc('month', least((SELECT data_start FROM stage_calendar),
                                  (SELECT coalesce(min(local_date(submitted_at)), current_date)
                                   FROM core.survey_responses))),
        greatest((SELECT data_end FROM stage_calendar),
                 (SELECT coalesce(max(local_date(submitted_at)), current_date - 36500)
                  FROM core.survey_responses)),
        INTERVAL 1 MONTH))::DATE AS month_start
)
SELECT DISTINCT
    quarter_of(month_start) AS quarter,
    quarter_start(quarter_of(month_start)) AS q_start,
    quarter_end(quarter_of(month_start)) AS q_end,
    least(quarter_end(quarter_of(month_start)), (SELECT data_end FROM stage_calendar)) AS ref_date
FROM days;
