-- The numerical core's memory is PostgreSQL's: palloc'd in the caller's
-- memory context and bounded by pozytywka.core_memory_limit (default:
-- maintenance_work_mem), with SQLSTATE 53200 when a call would need more.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pozytywka;
RESET client_min_messages;
\set SHOW_CONTEXT never
-- the setting is defined when the library loads (a placeholder before)
LOAD 'pozytywka';

CREATE FUNCTION sqlstate_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

SELECT current_setting('pozytywka.core_memory_limit') AS default_limit,
	   current_setting('pozytywka.core_memory_limit') = '-1' AS follows_maintenance_work_mem;

-- an automatic ARIMA of 3,000 weeks needs ~150 kB of workspace
SET pozytywka.core_memory_limit = '64kB';
SELECT sqlstate_of($$SELECT arima_forecast(ARRAY(SELECT 100 + 10 * sin(i / 5.0) + (i % 7)
												  FROM generate_series(1, 3000) AS i)::float8[])$$);
-- the demo generator's world for 5,000 tracks
SELECT sqlstate_of($$SELECT * FROM generate_demo_data(weeks => 4, events_per_week => 1000, truncate => true)$$);
-- training (on a small demo service, generated with room)
RESET pozytywka.core_memory_limit;
SELECT count(*) > 0 AS generated
  FROM generate_demo_data(weeks => 12, events_per_week => 2000, tracks => 100, artists => 20,
						  users => 100, truncate => true);
SET pozytywka.core_memory_limit = '64kB';
SELECT count(*) AS models_before FROM pozytywka.models \gset
SELECT sqlstate_of($$SELECT lstm_train(epochs => 1, hidden => 64)$$);
SELECT count(*) = :models_before AS no_model_stored FROM pozytywka.models;

-- nothing is held after the error: with room again, the same calls work
RESET pozytywka.core_memory_limit;
SELECT array_length(arima_forecast(ARRAY(SELECT 100 + 10 * sin(i / 5.0) + (i % 7)
										 FROM generate_series(1, 3000) AS i)::float8[]), 1) AS forecasts;
SET pozytywka.core_memory_limit = '1GB';
SELECT array_length(arima_forecast(ARRAY(SELECT 100 + 10 * sin(i / 5.0) + (i % 7)
										 FROM generate_series(1, 3000) AS i)::float8[]), 1) AS forecasts;
SET client_min_messages = warning;
SELECT lstm_train(epochs => 1, hidden => 64, activate => 'never') > 0 AS trained;
RESET client_min_messages;
SET pozytywka.core_memory_limit = -2;
RESET pozytywka.core_memory_limit;
TRUNCATE pozytywka.sessions, pozytywka.tracks, pozytywka.artists, pozytywka.users, pozytywka.models;
DROP FUNCTION sqlstate_of(text);
