-- A response without a survey tool's id was identified by a hash of its content, its comment
-- included, as scrubbed when it was stored: a name the roster did not list yet stayed in the
-- hash (testable against a guess) after the comment itself was scrubbed again, and a re-export
-- scrubbed that comment anew, hashed to a new id and loaded twice. Content ids now leave the
-- comment out (pipelines.ingest.load.insert_survey). The ids of stored responses with a comment
-- cannot be recomputed without it (which of the instrument's items their file held is not
-- stored), so they are replaced by random ones, in every table that names them; a re-export
-- finds those responses by their content (pipelines.ingest.load._drop_copies). Keyed ids (an
-- HMAC of a tool's own id, 64 hex digits) never held a comment and stay.
CREATE TEMP TABLE _rekeyed AS
SELECT response_id AS old_id, md5(CAST(gen_random_uuid() AS VARCHAR)) AS new_id
FROM core.survey_responses
WHERE comment IS NOT NULL AND length(response_id) = 32;

UPDATE core.survey_answers a SET response_id = k.new_id
FROM _rekeyed k WHERE a.response_id = k.old_id;

UPDATE release.item_ledger l SET response_id = k.new_id
FROM _rekeyed k WHERE l.response_id = k.old_id;

INSERT INTO core.survey_responses
SELECT k.new_id, r.survey_id, r.submitted_at, r.group_id, r.comment, r.load_id
FROM core.survey_responses r JOIN _rekeyed k ON r.response_id = k.old_id;

DELETE FROM core.survey_responses WHERE response_id IN (SELECT old_id FROM _rekeyed);

DROP TABLE _rekeyed;
