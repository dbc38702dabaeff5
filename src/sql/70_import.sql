-- part 70: loading the service's JSONL exports (used by pozytywka-import).
--
-- The client (src/client/pozytywka_import.c) parses every line itself and
-- streams one row per line, with COPY (FORMAT binary), into the session's
-- temporary table
--   pg_temp.pz_import_lines (line_no bigint, line text, reason text,
--       session_id bigint, ts timestamp, user_id integer, track_id text,
--       event_type pozytywka.event_type, repaired boolean DEFAULT false)
-- then calls pozytywka.import_file(kind, source) with bound parameters, all
-- in one transaction: a file is loaded whole or not at all.  A row with a
-- reason is a line the client rejected; a session row carries the typed
-- event; a catalogue row carries its verbatim line, whose fields are
-- checked here.  No line can abort the rest: every check below is a
-- predicate, not a cast that might throw; what fails goes to
-- pozytywka.import_rejects with its reason.

-- JSON parse that cannot throw (PostgreSQL 15 has no pg_input_is_valid).
CREATE FUNCTION pozytywka.try_jsonb(line text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN line::jsonb;
EXCEPTION WHEN others THEN
	RETURN NULL;
END;
$$;

-- Does value v fit the importer's field type t?  Never throws.
--   string, integer (int4), bigint, number (finite, |x| < 1e300),
--   boolean (true/false or 0/1), string_array, timestamp
--   (YYYY-MM-DD[T ]HH:MM:SS[.ffffff]), partial_date (YYYY, YYYY-MM, YYYY-MM-DD).
CREATE FUNCTION pozytywka.import_value_ok(v jsonb, t text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT CASE t
		WHEN 'string' THEN jsonb_typeof(v) = 'string'
		WHEN 'integer' THEN jsonb_typeof(v) = 'number'
			AND (v #>> '{}') ~ '^-?[0-9]{1,10}$'
			AND (v #>> '{}')::numeric BETWEEN -2147483648 AND 2147483647
		WHEN 'bigint' THEN jsonb_typeof(v) = 'number'
			AND (v #>> '{}') ~ '^-?[0-9]{1,18}$'
		WHEN 'number' THEN jsonb_typeof(v) = 'number'
			AND abs((v #>> '{}')::numeric) < 1e300
			AND (abs((v #>> '{}')::numeric) >= 1e-300 OR (v #>> '{}')::numeric = 0)
		WHEN 'boolean' THEN jsonb_typeof(v) = 'boolean'
			OR (jsonb_typeof(v) = 'number' AND (v #>> '{}') IN ('0', '1'))
		WHEN 'string_array' THEN jsonb_typeof(v) = 'array'
			AND NOT jsonb_path_exists(v, '$[*] ? (@.type() != "string")')
		WHEN 'timestamp' THEN jsonb_typeof(v) = 'string'
			AND (v #>> '{}') ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$'
			AND pozytywka.day_exists(v #>> '{}')
		WHEN 'partial_date' THEN jsonb_typeof(v) = 'string'
			AND (v #>> '{}') ~ '^[1-9][0-9]{3}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$'
			AND pozytywka.day_exists(v #>> '{}')
		ELSE false
	END;
$$;

-- 'YYYY-MM-DD...' names a real day (no 30 February); shorter forms pass.
CREATE FUNCTION pozytywka.day_exists(s text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT length(s) < 10
		OR date_part('month', make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1)
						  + (substr(s, 9, 2)::int - 1)) = substr(s, 6, 2)::int;
$$;

-- The fields of each export file: JSON key, type, required?
CREATE TABLE pozytywka.import_fields (
	kind		text NOT NULL,
	field		text NOT NULL,
	field_type	text NOT NULL,
	required	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (kind, field)
);
INSERT INTO pozytywka.import_fields VALUES
	('artists', 'id', 'string', true),
	('artists', 'name', 'string', false),
	('artists', 'genres', 'string_array', false),
	('tracks', 'id', 'string', true),
	('tracks', 'name', 'string', false),
	('tracks', 'popularity', 'integer', false),
	('tracks', 'duration_ms', 'integer', false),
	('tracks', 'explicit', 'boolean', false),
	('tracks', 'id_artist', 'string', false),
	('tracks', 'release_date', 'partial_date', false),
	('tracks', 'danceability', 'number', false),
	('tracks', 'energy', 'number', false),
	('tracks', 'key', 'integer', false),
	('tracks', 'loudness', 'number', false),
	('tracks', 'speechiness', 'number', false),
	('tracks', 'acousticness', 'number', false),
	('tracks', 'instrumentalness', 'number', false),
	('tracks', 'liveness', 'number', false),
	('tracks', 'valence', 'number', false),
	('tracks', 'tempo', 'number', false),
	('users', 'user_id', 'integer', true),
	('users', 'name', 'string', false),
	('users', 'city', 'string', false),
	('users', 'street', 'string', false),
	('users', 'favourite_genres', 'string_array', false),
	('users', 'premium_user', 'boolean', false),
	('track_storage', 'track_id', 'string', true),
	('track_storage', 'storage_class', 'string', false),
	('track_storage', 'daily_cost', 'number', false),
	('sessions', 'session_id', 'bigint', true),
	('sessions', 'timestamp', 'timestamp', true),
	('sessions', 'user_id', 'integer', false),
	('sessions', 'track_id', 'string', false),
	('sessions', 'event_type', 'string', false);

-- Parse and check the staged lines of one file: one row per non-blank line,
-- with the JSON object (normalised: 0/1 booleans as booleans) or the reason
-- it is rejected.
CREATE FUNCTION pozytywka.import_checked(import_kind text)
RETURNS TABLE (line_no bigint, line text, doc jsonb, reason text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH parsed AS (
		SELECT l.line_no, l.line, pozytywka.try_jsonb(l.line) AS j
		  FROM pg_temp.pz_import_lines AS l
		 WHERE l.reason IS NULL AND l.line IS NOT NULL
	), field_errors AS (
		SELECT p.line_no,
			   (array_agg(format('field "%s": %s', f.field,
								 CASE WHEN p.j -> f.field IS NULL OR jsonb_typeof(p.j -> f.field) = 'null'
									  THEN 'missing'
									  ELSE format('expected %s, got %s', replace(f.field_type, '_', ' '),
												  left((p.j -> f.field)::text, 60)) END)
						   ORDER BY f.field))[1] AS reason
		  FROM parsed AS p
		  JOIN pozytywka.import_fields AS f ON f.kind = import_kind
		 WHERE jsonb_typeof(p.j) = 'object'
		   AND CASE WHEN p.j -> f.field IS NULL OR jsonb_typeof(p.j -> f.field) = 'null'
					THEN f.required
					ELSE NOT pozytywka.import_value_ok(p.j -> f.field, f.field_type) END
		 GROUP BY p.line_no
	)
	SELECT p.line_no, p.line,
		   CASE WHEN e.reason IS NULL AND jsonb_typeof(p.j) = 'object' THEN
			   (SELECT jsonb_object_agg(kv.key,
						CASE WHEN f.field_type = 'boolean' AND jsonb_typeof(kv.value) = 'number'
							 THEN to_jsonb((kv.value #>> '{}') = '1')
							 ELSE kv.value END)
				  FROM jsonb_each(p.j) AS kv
				  LEFT JOIN pozytywka.import_fields AS f
					ON f.kind = import_kind AND f.field = kv.key)
		   END,
		   CASE WHEN p.j IS NULL THEN 'malformed JSON'
				WHEN jsonb_typeof(p.j) <> 'object' THEN 'not a JSON object'
				ELSE e.reason END
	  FROM parsed AS p
	  LEFT JOIN field_errors AS e ON e.line_no = p.line_no;
END;
$$;


-- Load the rows staged in pg_temp.pz_import_lines as one export file of the
-- given kind; source names the file in import_runs.  Per file:
--   lines = loaded + repaired + rejected  (every line read, exactly once)
--   duplicates: of the loaded and repaired lines, those that changed
--   nothing (the event or identical catalogue row already there, an event
--   repeated in the file, a catalogue id repeated later in the file).
-- Catalogue files (artists, tracks, users, track_storage) are upserted by
-- id, the last line of a repeated id winning.  Sessions are repaired where
-- that is unambiguous (see the README), then inserted unless the identical
-- event is already there.
CREATE FUNCTION pozytywka.import_file(import_kind text, source text)
RETURNS TABLE (kind text, lines bigint, loaded bigint, repaired bigint,
			   rejected bigint, duplicates bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	run bigint;
	n_lines bigint;
	n_loaded bigint := 0;
	n_repaired bigint := 0;
	n_rejected bigint;
	n_changed bigint := 0;
	key_col text;
	tbl text;
	cols text;
BEGIN
	IF import_kind IS NULL OR import_kind NOT IN ('artists', 'tracks', 'users', 'track_storage', 'sessions') THEN
		RAISE EXCEPTION 'unknown export kind "%"', import_kind
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Known kinds: artists, tracks, users, track_storage, sessions.';
	END IF;
	IF source IS NULL THEN
		RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.to_regclass('pg_temp.pz_import_lines') IS NULL THEN
		RAISE EXCEPTION 'no staged lines: pozytywka-import stages a file in the temporary table pz_import_lines first'
			USING ERRCODE = 'undefined_table';
	END IF;

	-- first, so that a role without the importer's privileges stops here
	INSERT INTO pozytywka.import_runs (source, kind, lines, loaded, duplicates, repaired, rejected)
	VALUES (source, import_kind, 0, 0, 0, 0, 0)
	RETURNING run_id INTO run;

	IF import_kind = 'sessions' THEN
		-- The repairs concern few sessions: copy the events of the sessions
		-- with a null user_id or a play/skip/like without a track into a
		-- small table (two scans of the staged rows), repair and reject
		-- there, and write the changes back in one pass.
		CREATE TEMP TABLE pz_import_ev ON COMMIT DROP AS
		SELECT l.line_no, l.session_id, l.ts, l.user_id, l.track_id, l.event_type,
			   false AS repaired, NULL::text AS reason
		  FROM pg_temp.pz_import_lines AS l
		 WHERE l.reason IS NULL
		   AND l.session_id IN (
				SELECT n.session_id
				  FROM pg_temp.pz_import_lines AS n
				 WHERE n.reason IS NULL
				   AND (n.user_id IS NULL
						OR (n.track_id IS NULL AND n.event_type IN ('play', 'skip', 'like'))));
		ANALYZE pg_temp.pz_import_ev;

		-- a null user_id is taken from the other events of its session when
		-- they name exactly one user
		WITH su AS (
			SELECT e.session_id, min(e.user_id) AS user_id
			  FROM pg_temp.pz_import_ev AS e
			 WHERE e.user_id IS NOT NULL
			 GROUP BY e.session_id
			HAVING count(DISTINCT e.user_id) = 1
		)
		UPDATE pg_temp.pz_import_ev AS e
		   SET user_id = su.user_id, repaired = true
		  FROM su
		 WHERE e.user_id IS NULL AND su.session_id = e.session_id;

		-- a skip or like without track_id belongs to the latest play of its
		-- session at or before it, when that play names one track (several
		-- plays at that instant: only if they all name the same track)
		WITH latest_play AS (
			SELECT e.line_no, e.session_id, e.event_type, e.track_id,
				   max(e.ts) FILTER (WHERE e.event_type = 'play')
					   OVER (PARTITION BY e.session_id ORDER BY e.ts) AS play_ts
			  FROM pg_temp.pz_import_ev AS e
		), plays AS (
			SELECT p.session_id, p.ts, min(p.track_id) AS track_id
			  FROM pg_temp.pz_import_ev AS p
			 WHERE p.event_type = 'play'
			 GROUP BY p.session_id, p.ts
			HAVING count(DISTINCT coalesce(p.track_id, '')) = 1
			   AND bool_and(p.track_id IS NOT NULL)
		), attributed AS (
			SELECT l.line_no, p.track_id
			  FROM latest_play AS l
			  JOIN plays AS p ON p.session_id = l.session_id AND p.ts = l.play_ts
			 WHERE l.track_id IS NULL AND l.event_type IN ('skip', 'like')
		)
		UPDATE pg_temp.pz_import_ev AS e
		   SET track_id = a.track_id, repaired = true
		  FROM attributed AS a
		 WHERE a.line_no = e.line_no;

		UPDATE pg_temp.pz_import_ev AS e
		   SET reason = CASE e.event_type
				WHEN 'play' THEN 'play without track_id'
				ELSE format('%s without track_id and no unambiguous earlier play in session %s',
							e.event_type, e.session_id) END
		 WHERE e.track_id IS NULL AND e.event_type IN ('play', 'skip', 'like');

		UPDATE pg_temp.pz_import_lines AS l
		   SET user_id = e.user_id, track_id = e.track_id, repaired = e.repaired,
			   reason = e.reason
		  FROM pg_temp.pz_import_ev AS e
		 WHERE e.line_no = l.line_no AND (e.repaired OR e.reason IS NOT NULL);
		DROP TABLE pg_temp.pz_import_ev;

		-- A plain INSERT is a third faster than INSERT ... ON CONFLICT; it
		-- fails on the first event already there (a reload, a repeat in the
		-- file, a concurrent loader), and then, its work undone, the events
		-- go in with ON CONFLICT DO NOTHING.
		BEGIN
			INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
			SELECT l.session_id, l.ts, l.user_id, l.track_id, l.event_type
			  FROM pg_temp.pz_import_lines AS l
			 WHERE l.reason IS NULL;
			GET DIAGNOSTICS n_changed = ROW_COUNT;
		EXCEPTION WHEN unique_violation THEN
			INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
			SELECT l.session_id, l.ts, l.user_id, l.track_id, l.event_type
			  FROM pg_temp.pz_import_lines AS l
			 WHERE l.reason IS NULL
			ON CONFLICT DO NOTHING;
			GET DIAGNOSTICS n_changed = ROW_COUNT;
		END;
	ELSE
		CREATE TEMP TABLE pz_import_checked ON COMMIT DROP AS
		SELECT * FROM pozytywka.import_checked(import_kind);
		tbl := 'pozytywka.' || import_kind;
		key_col := CASE import_kind WHEN 'users' THEN 'user_id'
									WHEN 'track_storage' THEN 'track_id' ELSE 'id' END;
		IF import_kind = 'tracks' THEN
			-- keep the precision the source gave: 'YYYY' -> YYYY-01-01 'year'
			UPDATE pg_temp.pz_import_checked AS c
			   SET doc = c.doc || jsonb_build_object(
					'release_date', CASE length(c.doc ->> 'release_date')
										WHEN 4 THEN (c.doc ->> 'release_date') || '-01-01'
										WHEN 7 THEN (c.doc ->> 'release_date') || '-01'
										ELSE c.doc ->> 'release_date' END,
					'release_date_precision', CASE length(c.doc ->> 'release_date')
										WHEN 4 THEN 'year' WHEN 7 THEN 'month' ELSE 'day' END)
			 WHERE c.reason IS NULL AND c.doc ->> 'release_date' IS NOT NULL;
		END IF;
		-- the field faults found here become the lines' reasons
		UPDATE pg_temp.pz_import_lines AS l
		   SET reason = c.reason
		  FROM pg_temp.pz_import_checked AS c
		 WHERE c.line_no = l.line_no AND c.reason IS NOT NULL;
		SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
		  FROM pg_attribute AS a
		 WHERE a.attrelid = tbl::regclass AND a.attnum > 0 AND NOT a.attisdropped;
		-- only fixed names are spliced here (the kind was checked above)
		EXECUTE format(
			'INSERT INTO %1$s AS t (%2$s)
			 SELECT %2$s FROM (
				 SELECT DISTINCT ON (c.doc ->> %3$L) r.*
				   FROM pg_temp.pz_import_checked AS c,
						jsonb_populate_record(NULL::%1$s, c.doc) AS r
				  WHERE c.reason IS NULL
				  ORDER BY c.doc ->> %3$L, c.line_no DESC) AS s
			 ON CONFLICT (%4$I) DO UPDATE SET (%2$s) = ROW(%5$s)
			 WHERE (t.*) IS DISTINCT FROM (excluded.*)',
			tbl, cols, key_col, key_col,
			(SELECT string_agg('excluded.' || format('%I', a.attname), ', ' ORDER BY a.attnum)
			   FROM pg_attribute AS a
			  WHERE a.attrelid = tbl::regclass AND a.attnum > 0 AND NOT a.attisdropped));
		GET DIAGNOSTICS n_changed = ROW_COUNT;
		DROP TABLE pg_temp.pz_import_checked;
	END IF;

	INSERT INTO pozytywka.import_rejects (run_id, kind, line_no, line, reason)
	SELECT run, import_kind, l.line_no, l.line, l.reason
	  FROM pg_temp.pz_import_lines AS l
	 WHERE l.reason IS NOT NULL
	ON CONFLICT DO NOTHING;
	SELECT count(*), count(*) FILTER (WHERE l.reason IS NOT NULL),
		   count(*) FILTER (WHERE l.reason IS NULL AND NOT l.repaired),
		   count(*) FILTER (WHERE l.reason IS NULL AND l.repaired)
	  INTO n_lines, n_rejected, n_loaded, n_repaired
	  FROM pg_temp.pz_import_lines AS l;

	UPDATE pozytywka.import_runs AS r
	   SET lines = n_lines, loaded = n_loaded, duplicates = n_loaded + n_repaired - n_changed,
		   repaired = n_repaired, rejected = n_rejected
	 WHERE r.run_id = run;

	RETURN QUERY SELECT import_kind, n_lines, n_loaded, n_repaired, n_rejected,
						n_loaded + n_repaired - n_changed;
END;
$$;
COMMENT ON FUNCTION pozytywka.import_file(text, text) IS
	'Load the rows that pozytywka-import staged in pg_temp.pz_import_lines as one export file: lines = loaded + repaired + rejected';

-- The former entry point, kept for the roles granted EXECUTE on it.
CREATE FUNCTION @extschema@.import_staged(import_kind text, source text)
RETURNS TABLE (kind text, lines bigint, loaded bigint, repaired bigint,
			   rejected bigint, duplicates bigint)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT * FROM pozytywka.import_file(import_kind, source);
$$;
COMMENT ON FUNCTION @extschema@.import_staged(text, text) IS
	'Same as pozytywka.import_file (used by pozytywka-import before 0.2)';
