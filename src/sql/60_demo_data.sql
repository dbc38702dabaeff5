-- part 60: the demo-data generator, generate_demo_data().
--
-- The simulation lives in src/core/demogen.c (see its header for the model):
-- a seeded world of artists, tracks and users whose tracks have latent
-- weekly intensities (heavy-tailed long-run levels with artist effects,
-- releases that rise and decay, album drops, slow risers, viral jumps that
-- revert, December songs, noise), expanded week by week into sessions of
-- play/skip/like/advertisement/buy_premium events.  The C functions below
-- rebuild the same world from the same parameters on every call.

CREATE FUNCTION pozytywka.demo_artists(weeks integer, partial_days integer,
									   events_per_week bigint, tracks integer,
									   artists integer, users integer,
									   seed bigint, start_date date)
RETURNS TABLE (id text, name text, genres text[])
AS 'MODULE_PATHNAME', 'pz_demo_artists'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 1000;

CREATE FUNCTION pozytywka.demo_tracks(weeks integer, partial_days integer,
									  events_per_week bigint, tracks integer,
									  artists integer, users integer,
									  seed bigint, start_date date)
RETURNS TABLE (id text, name text, popularity integer, duration_ms integer,
			   explicit boolean, id_artist text, release_date date,
			   release_date_precision text, danceability double precision,
			   energy double precision, key integer, loudness double precision,
			   speechiness double precision, acousticness double precision,
			   instrumentalness double precision, liveness double precision,
			   valence double precision, tempo double precision)
AS 'MODULE_PATHNAME', 'pz_demo_tracks'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 5000;

CREATE FUNCTION pozytywka.demo_users(weeks integer, partial_days integer,
									 events_per_week bigint, tracks integer,
									 artists integer, users integer,
									 seed bigint, start_date date)
RETURNS TABLE (user_id integer, name text, city text, street text,
			   favourite_genres text[], premium_user boolean)
AS 'MODULE_PATHNAME', 'pz_demo_users'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10000;

-- The events of week number 'week' (0 = the week of start_date; the week
-- numbered 'weeks' is the incomplete one of partial_days days).
CREATE FUNCTION pozytywka.demo_events(weeks integer, partial_days integer,
									  events_per_week bigint, tracks integer,
									  artists integer, users integer,
									  seed bigint, start_date date, week integer)
RETURNS TABLE (session_id bigint, "timestamp" timestamp, user_id integer,
			   track_id text, event_type pozytywka.event_type)
AS 'MODULE_PATHNAME', 'pz_demo_events'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 150000;

-- generate_demo_data: fill artists, tracks, users and sessions with a
-- generated service, deterministic for a seed.
--
-- * weeks complete weeks (Monday to Sunday) of events, followed by the first
--   two days (Monday, Tuesday) of one more week, as in an export taken on a
--   Wednesday: latest_complete_week() is then the last of the 'weeks' weeks.
-- * start_date: the Monday of the first week (another date means the Monday
--   of its week).  By default the weeks end with the last complete week
--   before the fixed date 2026-03-04, i.e. run from 2025-03-03 to 2026-03-01
--   (52 weeks) plus 2026-03-02 and -03; never now(), so a seed always gives
--   the same data.
-- * events_per_week is approximate (Poisson counts on the simulated
--   intensities); the partial week has 2/7 of it.
-- * truncate => true empties artists, tracks, users and sessions (and with
--   them weekly_stats) first; otherwise the function refuses to run when any
--   of them holds rows, so it never mixes demo data with real data.  The
--   pre-aggregated pozytywka.imported_weekly_stats is never touched.
-- * Events are inserted one week per statement, so the statement-level
--   triggers keep weekly_stats current and memory stays bounded.
--
-- Returns the number of rows per table.
CREATE FUNCTION @extschema@.generate_demo_data(weeks integer DEFAULT 52,
											   events_per_week bigint DEFAULT 150000,
											   tracks integer DEFAULT 5000,
											   artists integer DEFAULT 800,
											   users integer DEFAULT 10000,
											   seed bigint DEFAULT 42,
											   start_date date DEFAULT NULL,
											   truncate boolean DEFAULT false)
RETURNS TABLE (table_name text, row_count bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	p_weeks integer := $1;
	p_events bigint := $2;
	p_tracks integer := $3;
	p_artists integer := $4;
	p_users integer := $5;
	p_seed bigint := $6;
	p_truncate boolean := $8;
	partial constant integer := 2;
	start_monday date;
	n_artists bigint;
	n_tracks bigint;
	n_users bigint;
	n_events bigint := 0;
	n bigint;
BEGIN
	IF p_weeks IS NULL OR p_events IS NULL OR p_tracks IS NULL OR p_artists IS NULL
	   OR p_users IS NULL OR p_seed IS NULL OR p_truncate IS NULL THEN
		RAISE EXCEPTION '% must not be NULL',
			CASE WHEN p_weeks IS NULL THEN 'weeks'
				 WHEN p_events IS NULL THEN 'events_per_week'
				 WHEN p_tracks IS NULL THEN 'tracks'
				 WHEN p_artists IS NULL THEN 'artists'
				 WHEN p_users IS NULL THEN 'users'
				 WHEN p_seed IS NULL THEN 'seed'
				 ELSE 'truncate' END
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Leave an argument out to get its default.';
	END IF;
	IF p_weeks < 1 THEN
		RAISE EXCEPTION 'weeks must be at least 1, not %', p_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_events < 100 THEN
		RAISE EXCEPTION 'events_per_week must be at least 100, not %', p_events
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_tracks < 10 THEN
		RAISE EXCEPTION 'tracks must be at least 10, not %', p_tracks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_artists < 1 OR p_artists > p_tracks THEN
		RAISE EXCEPTION 'artists must be between 1 and tracks (%), not %', p_tracks, p_artists
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF p_users < 1 THEN
		RAISE EXCEPTION 'users must be at least 1, not %', p_users
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	-- absurd sizes (the limits of src/core/demogen.h, plus the total)
	IF p_weeks > 520 OR p_events > 20000000 OR p_tracks > 2000000
	   OR p_artists > 1000000 OR p_users > 10000000
	   OR (p_weeks + 1)::bigint * p_tracks > 40000000
	   OR p_weeks * p_events > 1000000000 THEN
		RAISE EXCEPTION 'demo data size out of range: weeks %, events_per_week %, tracks %, artists %, users %',
			p_weeks, p_events, p_tracks, p_artists, p_users
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = 'Limits: weeks <= 520, events_per_week <= 20000000, tracks <= 2000000, artists <= 1000000, users <= 10000000, tracks x (weeks + 1) <= 40000000, weeks x events_per_week <= 1000000000.';
	END IF;
	IF start_date IS NULL THEN
		start_monday := date_trunc('week', DATE '2026-03-04')::date - 7 * p_weeks;
	ELSIF start_date::text IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'start_date must be a finite date'
			USING ERRCODE = 'invalid_parameter_value';
	ELSIF start_date < DATE '1900-01-01' OR start_date > DATE '2199-12-31' - 7 * (p_weeks + 1) THEN
		RAISE EXCEPTION 'start_date % is out of range', start_date
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The generated weeks must lie between 1900 and 2199.';
	ELSE
		start_monday := date_trunc('week', start_date)::date;
	END IF;

	-- one generator at a time, and no writer between the check and the load
	LOCK TABLE pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.sessions
		IN EXCLUSIVE MODE;
	IF p_truncate THEN
		TRUNCATE pozytywka.sessions, pozytywka.tracks, pozytywka.artists, pozytywka.users;
	ELSIF EXISTS (SELECT FROM pozytywka.sessions) OR EXISTS (SELECT FROM pozytywka.tracks)
		  OR EXISTS (SELECT FROM pozytywka.artists) OR EXISTS (SELECT FROM pozytywka.users) THEN
		RAISE EXCEPTION 'the pozytywka tables already hold data'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'generate_demo_data() fills empty tables only, so demo data never mixes with real data.',
				  HINT = 'Call generate_demo_data(..., truncate => true) to replace artists, tracks, users and sessions.';
	END IF;

	INSERT INTO pozytywka.artists (id, name, genres)
	SELECT a.id, a.name, a.genres
	  FROM pozytywka.demo_artists(p_weeks, partial, p_events, p_tracks, p_artists,
								  p_users, p_seed, start_monday) AS a;
	GET DIAGNOSTICS n_artists = ROW_COUNT;

	INSERT INTO pozytywka.tracks (id, name, popularity, duration_ms, explicit, id_artist,
								  release_date, release_date_precision, danceability,
								  energy, key, loudness, speechiness, acousticness,
								  instrumentalness, liveness, valence, tempo)
	SELECT t.id, t.name, t.popularity, t.duration_ms, t.explicit, t.id_artist,
		   t.release_date, t.release_date_precision, t.danceability,
		   t.energy, t.key, t.loudness, t.speechiness, t.acousticness,
		   t.instrumentalness, t.liveness, t.valence, t.tempo
	  FROM pozytywka.demo_tracks(p_weeks, partial, p_events, p_tracks, p_artists,
								 p_users, p_seed, start_monday) AS t;
	GET DIAGNOSTICS n_tracks = ROW_COUNT;

	INSERT INTO pozytywka.users (user_id, name, city, street, favourite_genres, premium_user)
	SELECT u.user_id, u.name, u.city, u.street, u.favourite_genres, u.premium_user
	  FROM pozytywka.demo_users(p_weeks, partial, p_events, p_tracks, p_artists,
								p_users, p_seed, start_monday) AS u;
	GET DIAGNOSTICS n_users = ROW_COUNT;

	-- one statement per week: the aggregate triggers see one week at a time
	FOR w IN 0 .. p_weeks LOOP
		INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
		SELECT e.session_id, e."timestamp", e.user_id, e.track_id, e.event_type
		  FROM pozytywka.demo_events(p_weeks, partial, p_events, p_tracks, p_artists,
									 p_users, p_seed, start_monday, w) AS e;
		GET DIAGNOSTICS n = ROW_COUNT;
		n_events := n_events + n;
	END LOOP;
	-- the load's deltas folded at once, and fresh statistics for the
	-- queries that follow a demo load
	PERFORM @extschema@.merge_events();
	ANALYZE pozytywka.artists, pozytywka.tracks, pozytywka.users, pozytywka.weekly_stats;

	RETURN QUERY
	VALUES ('artists'::text, n_artists),
		   ('tracks', n_tracks),
		   ('users', n_users),
		   ('sessions', n_events),
		   ('weekly_stats', (SELECT count(*) FROM pozytywka.weekly_stats));
END;
$$;
COMMENT ON FUNCTION @extschema@.generate_demo_data(integer, bigint, integer, integer, integer, bigint, date, boolean) IS
	'Fill artists, tracks, users and sessions with generated demo data, deterministic for a seed; returns row counts';
