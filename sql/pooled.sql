-- The pooled log-autoregression model.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT pozytywka.left_pad(ARRAY[1, 2]::float8[], 4);

-- 200 tracks, 20 weeks of a mean-reverting log process with a track level:
-- pooling learns to pull toward the level, which persistence cannot
SELECT setseed(0.1);
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays)
SELECT 't' || lpad(t::text, 3, '0'), date '2024-01-01' + 7 * w,
	   round(exp(lvl + (0.5 ^ (w % 3)) * (random() * 2 - 1)))::bigint
  FROM (SELECT t, 1 + 4 * random() AS lvl FROM generate_series(1, 200) AS t) AS tr,
	   generate_series(0, 19) AS w;
SELECT count(*) AS forecasts, count(*) FILTER (WHERE predicted_score >= 0) AS non_negative
  FROM pozytywka.forecast_pooled('2024-05-06');
SELECT model, weeks_tested, round(mean_overlap::numeric, 3) AS mean_overlap
  FROM backtest_summary(20, 4, 'all') WHERE model IN ('pooled', 'naive', 'mean4');

CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE query;
	RETURN 'no error';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
	($q$SELECT pozytywka.left_pad(NULL, 3)$q$),
	($q$SELECT pozytywka.left_pad(ARRAY[1, 2, 3]::float8[], 2)$q$),
	($q$SELECT pozytywka.left_pad(ARRAY[1]::float8[], 0)$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(ARRAY[1, 2]::float8[], ARRAY[true], 1, 0)$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(ARRAY[[1, 2]]::float8[], ARRAY[true, false], 1, 0)$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(ARRAY[[1, 2]]::float8[], ARRAY[true], 5, 0)$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(ARRAY[[1, 'NaN']]::float8[], ARRAY[true], 1, 0)$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(ARRAY[[1, 2]]::float8[], ARRAY[true], 1, 'NaN')$q$),
	($q$SELECT pozytywka.pooled_ar_forecast(NULL, ARRAY[true], 1, 0)$q$)
) AS t (q);

-- the ensemble: a weighted geometric mean of 1 + the members' forecasts,
-- over the members available at the origin (here pooled and naive)
UPDATE pozytywka.ensemble_members SET weight = 3 WHERE name = 'pooled';
DELETE FROM pozytywka.ensemble_members WHERE name = 'lstm';
SELECT pozytywka.ensemble_available('2024-05-06') AS with_one_member;
INSERT INTO pozytywka.ensemble_members VALUES ('naive', 1);
SELECT pozytywka.ensemble_available('2024-05-06') AS with_two_members;
SELECT count(*) AS tracks,
	   max(abs(e.predicted_score
			   - (exp((3 * ln(1 + greatest(p.predicted_score, 0)) + ln(1 + greatest(n.predicted_score, 0))) / 4) - 1)))
		 < 1e-9 AS is_weighted_geometric_mean
  FROM pozytywka.forecast_ensemble('2024-05-06') AS e
  JOIN pozytywka.forecast_pooled('2024-05-06') AS p USING (track_id)
  JOIN pozytywka.forecast_naive('2024-05-06') AS n USING (track_id);
SELECT rank, track_id, model FROM top_tracks_next_week(3, 'ensemble');
-- 0.2.0: every kind's list carries its interval and p_top
SELECT count(p_top) AS rows_with_p_top, bool_and(p_top BETWEEN 0 AND 1) AS probabilities,
	   bool_and(lower <= upper) AS ordered,
	   (SELECT c.model FROM pozytywka.model_calibration('ensemble', 3, latest_complete_week()) AS c)
		   AS calibrated_by
  FROM top_tracks_next_week(3, 'ensemble');
