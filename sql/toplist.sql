-- The top list, the backtest and predict() on a small hand-made history.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- an empty database: a clear error, never a crash
SELECT * FROM top_tracks_next_week(5);
SELECT * FROM backtest_top_tracks(5, 2, 'naive');
-- one partial week of events: still no complete week
INSERT INTO pozytywka.sessions VALUES (1, '2024-03-05 10:00', 1, 'x', 'play');
SELECT * FROM top_tracks_next_week(5);
TRUNCATE pozytywka.sessions;

-- weekly counts for 6 weeks (Mondays 2024-01-01 .. 2024-02-05):
--   'up' grows, 'down' decays, 'flat' is constant, 'new' appears in week 5,
--   'gone' stops after week 2
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
SELECT t.track_id, date '2024-01-01' + 7 * w, t.plays[w + 1], 0, 0
  FROM (VALUES ('up',   ARRAY[1, 2, 3, 4, 5, 6]),
			   ('down', ARRAY[9, 8, 7, 6, 5, 4]),
			   ('flat', ARRAY[5, 5, 5, 5, 5, 5]),
			   ('new',  ARRAY[0, 0, 0, 0, 8, 2]),
			   ('gone', ARRAY[7, 7, 0, 0, 0, 0])) AS t (track_id, plays),
	   generate_series(0, 5) AS w
 WHERE t.plays[w + 1] > 0;
INSERT INTO pozytywka.artists VALUES ('ar1', 'Artist One', ARRAY['pop']);
INSERT INTO pozytywka.tracks (id, name, id_artist) VALUES ('up', 'Going Up', 'ar1');

SELECT latest_complete_week();

-- naive: last week's score; ties (flat = down = 5 in week 5) by last week's
-- score then track_id
SELECT rank, track_id, track_name, artist_name, predicted_score, last_week_score, model FROM top_tracks_next_week(3, 'naive', '2024-01-29');
SELECT rank, track_id, track_name, artist_name, predicted_score, last_week_score, model FROM top_tracks_next_week(10, 'mean4', '2024-01-29');
SELECT rank, track_id, track_name, artist_name, predicted_score, last_week_score, model FROM top_tracks_next_week(10, 'trend', '2024-01-29');
SELECT rank, track_id, round(predicted_score::numeric, 4) FROM top_tracks_next_week(10, 'ewma', '2024-01-29');
-- 0.2.0: the 80% interval and p_top, from the model's own backtest on the
-- weeks up to as_of (split conformal on log1p residuals; p_top by rank,
-- shrunk and non-increasing): every row has both, lower <= upper, p in [0, 1]
SELECT rank, track_id, round(lower::numeric, 3) AS lower, round(upper::numeric, 3) AS upper,
	   round(p_top::numeric, 4) AS p_top
  FROM top_tracks_next_week(10, 'mean4', '2024-01-29');
SELECT t.kind, count(*) AS rows, bool_and(t.lower <= t.upper AND t.lower >= 0) AS ordered,
	   bool_and(t.p_top BETWEEN 0 AND 1) AS probabilities,
	   bool_and(t.p_top <= coalesce(lag_p, 1)) AS non_increasing
  FROM (SELECT k.name AS kind, l.*, lag(l.p_top) OVER (PARTITION BY k.name ORDER BY l.rank) AS lag_p
		  FROM pozytywka.model_kinds AS k,
			   LATERAL top_tracks_next_week(4, k.name, '2024-02-05') AS l
		 WHERE pozytywka.model_available(k.name, '2024-02-05')) AS t
 GROUP BY t.kind ORDER BY t.kind;
-- the bound never overflows, a non-finite forecast has none, a negative one counts as 0
SELECT pozytywka.interval_bound(1e308, 5) > 1e300 AS no_overflow,
	   pozytywka.interval_bound('NaN', 1) IS NULL AS nan_has_none,
	   pozytywka.interval_bound('Infinity', 1) IS NULL AS infinity_has_none,
	   pozytywka.interval_bound(-3, 0) AS negative_as_zero,
	   round(pozytywka.interval_bound(9, ln(2))::numeric, 9) AS doubles_one_plus_score;
-- with fewer than 2 backtest weeks there is nothing to calibrate on: NULL
SELECT rank, track_id, lower, upper, p_top FROM top_tracks_next_week(2, 'naive', '2024-01-08');
-- a track counts from its first week; 'gone' is no candidate after 8 quiet weeks only
SELECT track_id, first_week, series FROM pozytywka.candidate_series('2024-01-29') ORDER BY 1;
-- the dense-series aggregate: same-week values add up, quiet weeks are 0,
-- the series starts at the first week with data inside the window
SELECT weekly_series(w, v, '2024-01-29', 4)
  FROM (VALUES (date '2024-01-08', 2.0), ('2024-01-08', 1.5), ('2024-01-29', 4),
			   ('2023-12-25', 99), ('2024-02-05', 99)) AS t (w, v);
-- as_of names the week containing it; default = latest complete week
SELECT rank, track_id FROM top_tracks_next_week(2, 'naive', '2024-02-01');
SELECT rank, track_id, model FROM top_tracks_next_week(2, 'naive');
SELECT rank, track_id, model FROM top_tracks_next_week(2);
-- why: auto backtests every candidate on the 8 weeks up to as_of (here
-- the 5 with an origin); all tie, so the default (persistence) stays
SELECT model, preference, round(mean_overlap::numeric, 4) AS mean_overlap, weeks,
	   round(score::numeric, 4) AS score
  FROM pozytywka.auto_scores('2024-02-05') ORDER BY score DESC, preference, model;

-- backtest: week 2024-02-05 (actual top 2: up 6, flat 5) is predicted from
-- week 2024-01-29 (naive top 2: new 8, then down 5 — down, flat and up tie
-- at 5 and are ordered by track_id) -> 0 hits
SELECT week, model, model_used, overlap, hits, actual_n FROM backtest_top_tracks(2, 1, 'naive');
SELECT week, model, model_used, overlap, hits, actual_n FROM backtest_top_tracks(2, 3, 'naive');
SELECT model, weeks_tested, mean_overlap FROM backtest_summary(2, 3, 'naive');
-- new entries (real top 2 of week t not in the real top 2 of t-1): persistence
-- lists last week's top, so it catches none by construction; 2024-02-05's
-- entries are up and flat (new and down left), 2024-01-29's is new.
-- brier_persistence = share of the list's rows whose top-2 membership changed.
SELECT week, model, new_entries, entries_caught, round(brier::numeric, 4) AS brier,
	   brier_persistence, coverage
  FROM backtest_top_tracks(2, 3, 'naive');
-- trend saw 'up' coming (6 > 5): it catches one of 2024-02-05's two entries
SELECT week, model, overlap, new_entries, entries_caught FROM backtest_top_tracks(2, 1, 'trend');
SELECT model, weeks_tested, round(mean_overlap::numeric, 4) AS mean_overlap,
	   round(entries_caught::numeric, 4) AS entries_caught, round(brier::numeric, 4) AS brier,
	   round(brier_persistence::numeric, 4) AS brier_persistence, round(coverage::numeric, 4) AS coverage
  FROM backtest_summary(2, 3, 'all') ORDER BY model;
-- reliability of p_top in the backtest: rows per probability bin
SELECT model, p_from, p_to, list_rows, round(mean_p::numeric, 4) AS mean_p, observed
  FROM backtest_reliability(2, 3, 'naive');
-- why auto chose what it chose, in words
SELECT model, chosen, round(mean_overlap::numeric, 4) AS mean_overlap,
	   round(entries_caught::numeric, 4) AS entries_caught, weeks, reason
  FROM explain_choice('2024-02-05');
SELECT count(DISTINCT model) >= 6 AS all_models FROM backtest_top_tracks(2, 2, 'all');

-- predict(): the former microservice's contract
SELECT predict('{"model_type": "naive", "n": 3}');
SELECT predict('{"model_type": "naive", "n": 2, "as_of": "2024-01-08"}');
SELECT predict('{}') -> 'model' AS default_model;

-- bad input: each a clear error with its own SQLSTATE
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE query;
	RETURN 'no error';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
SELECT q AS query, pg_temp.error_of(q) AS error FROM (VALUES
	($q$SELECT * FROM top_tracks_next_week(NULL)$q$),
	($q$SELECT * FROM top_tracks_next_week(0)$q$),
	($q$SELECT * FROM top_tracks_next_week(-5)$q$),
	($q$SELECT * FROM top_tracks_next_week(1000000)$q$),
	($q$SELECT * FROM top_tracks_next_week(5, NULL)$q$),
	($q$SELECT * FROM top_tracks_next_week(5, 'prophet')$q$),
	($q$SELECT * FROM top_tracks_next_week(5, 'naive', '2023-01-01')$q$),
	($q$SELECT * FROM top_tracks_next_week(5, 'naive', '2025-01-01')$q$),
	($q$SELECT * FROM top_tracks_next_week(5, 'naive', 'infinity')$q$),
	($q$SELECT * FROM backtest_top_tracks(5, 0)$q$),
	($q$SELECT * FROM backtest_top_tracks(5, NULL)$q$),
	($q$SELECT * FROM backtest_top_tracks(5, 1000)$q$),
	($q$SELECT * FROM backtest_top_tracks(5, 2, 'nonsense')$q$),
	($q$SELECT predict(NULL)$q$),
	($q$SELECT predict('[1, 2]')$q$),
	($q$SELECT predict('"arima"')$q$),
	($q$SELECT predict('{"model_type": "xgboost"}')$q$),
	($q$SELECT predict('{"model_type": 5}')$q$),
	($q$SELECT predict('{"model": "arima"}')$q$),
	($q$SELECT predict('{"model_type": "naive", "n": -1}')$q$),
	($q$SELECT predict('{"model_type": "naive", "n": 2.5}')$q$),
	($q$SELECT predict('{"model_type": "naive", "n": "50"}')$q$),
	($q$SELECT predict('{"model_type": "naive", "as_of": "yesterday"}')$q$),
	($q$SELECT series_mean(NULL, 3)$q$),
	($q$SELECT series_mean(ARRAY[1, NULL]::float8[], 3)$q$),
	($q$SELECT series_mean(ARRAY[1, 'NaN']::float8[], 3)$q$),
	($q$SELECT series_mean(ARRAY[1, 'Infinity']::float8[], 3)$q$),
	($q$SELECT series_mean(ARRAY[]::float8[], 3)$q$),
	($q$SELECT series_mean(ARRAY[[1, 2], [3, 4]]::float8[], 3)$q$),
	($q$SELECT series_mean(ARRAY[1, 2]::float8[], 0)$q$),
	($q$SELECT series_ewma(ARRAY[1, 2]::float8[], 0)$q$),
	($q$SELECT series_ewma(ARRAY[1, 2]::float8[], 1.5)$q$),
	($q$SELECT series_trend(array_fill(1.0::float8, ARRAY[20000]), 3)$q$),
	($q$SELECT weekly_series(d, 1, '2024-01-08', 0) FROM (VALUES (date '2024-01-01')) AS v (d)$q$),
	($q$SELECT weekly_series(d, 1, '2024-01-08', 100000) FROM (VALUES (date '2024-01-01')) AS v (d)$q$),
	($q$SELECT weekly_series(d, 1, NULL, 4) FROM (VALUES (date '2024-01-01')) AS v (d)$q$),
	($q$SELECT weekly_series(d, 1, 'infinity', 4) FROM (VALUES (date '2024-01-01')) AS v (d)$q$),
	($q$SELECT weekly_series(d, 1, '2024-01-08', 4) FROM (VALUES (date '2024-01-03')) AS v (d)$q$)
) AS t (q);

-- auto leaves persistence for a model that beats it (by more than
-- settings.auto_margin, default 0): 'alt' alternates 10 / 0, 'steady'
-- plays 6 a week, so last week's no. 1 is never next week's (naive: 0)
-- while the means pick 'steady', right every other week
TRUNCATE pozytywka.imported_weekly_stats, pozytywka.sessions;
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays)
SELECT t, date '2024-01-01' + 7 * w, CASE WHEN t = 'steady' THEN 6 WHEN w % 2 = 0 THEN 10 ELSE 0 END
  FROM unnest(ARRAY['alt', 'steady']) AS t, generate_series(0, 11) AS w;
INSERT INTO pozytywka.settings (auto_n) VALUES (1);
SELECT model, round(mean_overlap::numeric, 3) AS mean_overlap, round(score::numeric, 3) AS score
  FROM pozytywka.auto_scores(latest_complete_week()) ORDER BY score DESC, preference;
SELECT model FROM top_tracks_next_week(1);
-- a margin larger than any gain keeps persistence
UPDATE pozytywka.settings SET auto_margin = 0.6;
SELECT model FROM top_tracks_next_week(1);
DELETE FROM pozytywka.settings;
