-- pozytywka install script, part 00: the data model (schema pozytywka).
--
-- Hardening (PostgreSQL's rules for extension scripts): nothing here depends
-- on the caller's search_path.  Functions live in @extschema@, data in the
-- schema pozytywka, built-ins are pg_catalog-qualified, and every function
-- that touches a table pins its own search_path.

\echo Use "CREATE EXTENSION pozytywka" to load this file. \quit

CREATE SCHEMA pozytywka;
COMMENT ON SCHEMA pozytywka IS 'pozytywka: the service''s data, the weekly aggregate and the model registry';

CREATE TYPE pozytywka.event_type AS ENUM
	('play', 'skip', 'like', 'advertisement', 'buy_premium');

CREATE TABLE pozytywka.artists (
	id			text PRIMARY KEY,
	name		text,
	genres		text[]
);

CREATE TABLE pozytywka.tracks (
	id			text PRIMARY KEY,
	name		text,
	popularity	integer,
	duration_ms integer,
	explicit	boolean,
	id_artist	text,
	release_date date,
	-- the export gives YYYY, YYYY-MM or YYYY-MM-DD: release_date holds the
	-- first day of that period, this column says which precision it had
	release_date_precision text
		CHECK (release_date_precision IN ('year', 'month', 'day')),
	danceability double precision,
	energy		double precision,
	key			integer,
	loudness	double precision,
	speechiness double precision,
	acousticness double precision,
	instrumentalness double precision,
	liveness	double precision,
	valence		double precision,
	tempo		double precision
);
CREATE INDEX tracks_id_artist_idx ON pozytywka.tracks (id_artist);

CREATE TABLE pozytywka.users (
	user_id		integer PRIMARY KEY,
	name		text,
	city		text,
	street		text,
	favourite_genres text[],
	premium_user boolean
);

CREATE TABLE pozytywka.track_storage (
	track_id	text PRIMARY KEY,
	storage_class text,
	daily_cost	double precision
);

-- One row per event.  track_id may name a track the catalogue does not have
-- (yet): such events still count.  The unique index makes re-loading an
-- export idempotent (NULLS NOT DISTINCT: PostgreSQL 15).
CREATE TABLE pozytywka.sessions (
	session_id	bigint NOT NULL,
	"timestamp" timestamp NOT NULL,
	user_id		integer,
	track_id	text,
	event_type	pozytywka.event_type NOT NULL
);
CREATE UNIQUE INDEX sessions_event_key
	ON pozytywka.sessions (session_id, "timestamp", event_type, track_id, user_id)
	NULLS NOT DISTINCT;

-- Event tables whose events count (pozytywka.attach_events(), part 10).
-- pozytywka.sessions is source 1, attached by this script.
CREATE TABLE pozytywka.event_sources (
	source_id	serial PRIMARY KEY,
	-- NULL once the table was dropped (its weeks stay when keep_history)
	relid		regclass UNIQUE,
	relname		text NOT NULL,
	time_column name NOT NULL,
	track_column name NOT NULL,
	type_column name NOT NULL,
	user_column name,
	play_values text[] NOT NULL,
	like_values text[] NOT NULL,
	skip_values text[] NOT NULL,
	keep_history boolean NOT NULL,
	attached_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- The weekly per-track aggregate of the attached event tables, one row per
-- (track, week, source), folded from weekly_deltas by merge_events().  A
-- week is identified by the date of its Monday (ISO week).
CREATE TABLE pozytywka.weekly_stats (
	track_id	text NOT NULL,
	week		date NOT NULL,
	plays		bigint NOT NULL CHECK (plays >= 0),
	likes		bigint NOT NULL CHECK (likes >= 0),
	skips		bigint NOT NULL CHECK (skips >= 0),
	-- last, as 0.1.0 -> 0.2.0 added it
	source_id	integer NOT NULL DEFAULT 1,
	PRIMARY KEY (track_id, week, source_id)
);
CREATE INDEX weekly_stats_week_idx ON pozytywka.weekly_stats (week);

-- Changes not merged yet: each writing statement appends its net (track,
-- week) deltas here (the capture trigger, src/events.c), never updating a
-- shared row.  No index, so that appending costs writers as little as it
-- can; merge_events() empties it.
CREATE TABLE pozytywka.weekly_deltas (
	source_id	integer NOT NULL,
	track_id	text NOT NULL,
	week		date NOT NULL,
	plays		bigint NOT NULL,
	likes		bigint NOT NULL,
	skips		bigint NOT NULL
);

-- Weekly counts of a user who has them but not the raw events.
CREATE TABLE pozytywka.imported_weekly_stats (
	track_id	text NOT NULL,
	week		date NOT NULL
		CHECK (pg_catalog.date_part('isodow', week) = '1'::float8),
	plays		bigint NOT NULL DEFAULT 0 CHECK (plays >= 0),
	likes		bigint NOT NULL DEFAULT 0 CHECK (likes >= 0),
	skips		bigint NOT NULL DEFAULT 0 CHECK (skips >= 0),
	PRIMARY KEY (track_id, week)
);
CREATE INDEX imported_weekly_stats_week_idx ON pozytywka.imported_weekly_stats (week);

-- Settings: at most one row; with none, the defaults below apply (see the
-- view pozytywka.effective_settings).  Changing the weights changes every
-- score at once; no data is reloaded (scores are computed when read).  The
-- table starts empty so that pg_dump/restore of a customised row works.
CREATE TABLE pozytywka.settings (
	singleton	boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	w_play		double precision NOT NULL DEFAULT 1.0
		CHECK (w_play BETWEEN '-1e6'::float8 AND '1e6'::float8),
	w_like		double precision NOT NULL DEFAULT 0.8
		CHECK (w_like BETWEEN '-1e6'::float8 AND '1e6'::float8),
	w_skip		double precision NOT NULL DEFAULT 0.5
		CHECK (w_skip BETWEEN '-1e6'::float8 AND '1e6'::float8),
	-- weeks of history handed to the per-track models (the pooled model
	-- reads up to 111 weeks for its annual features, see part 25)
	history_weeks integer NOT NULL DEFAULT 52
		CHECK (history_weeks BETWEEN 2 AND 520),
	-- a track is a candidate for next week's list when it had events in
	-- one of the last candidate_weeks weeks
	candidate_weeks integer NOT NULL DEFAULT 8
		CHECK (candidate_weeks BETWEEN 1 AND 520),
	-- optional bound on the candidate set for very large catalogues: keep
	-- the max_candidates tracks with the best recent mean score
	max_candidates integer CHECK (max_candidates > 0),
	-- model_type 'auto' backtests the models on the auto_weeks weeks before
	-- the forecast origin (mean overlap@auto_n); a model replaces the
	-- default one (the first of auto_preference: persistence) only when it
	-- beats it by more than auto_margin (0: any gain; ties keep the default)
	auto_weeks	integer NOT NULL DEFAULT 8 CHECK (auto_weeks BETWEEN 1 AND 52),
	auto_n		integer NOT NULL DEFAULT 50 CHECK (auto_n BETWEEN 1 AND 100000),
	auto_margin double precision NOT NULL DEFAULT 0 CHECK (auto_margin BETWEEN '0'::float8 AND '1'::float8)
);

CREATE VIEW pozytywka.effective_settings AS
SELECT coalesce(s.w_play, 1.0) AS w_play,
	   coalesce(s.w_like, 0.8) AS w_like,
	   coalesce(s.w_skip, 0.5) AS w_skip,
	   coalesce(s.history_weeks, 52) AS history_weeks,
	   coalesce(s.candidate_weeks, 8) AS candidate_weeks,
	   s.max_candidates,
	   coalesce(s.auto_weeks, 8) AS auto_weeks,
	   coalesce(s.auto_n, 50) AS auto_n,
	   coalesce(s.auto_margin, 0) AS auto_margin
  FROM (VALUES (true)) AS d (singleton)
  LEFT JOIN pozytywka.settings AS s ON s.singleton;

-- What each import loaded, repaired and rejected.
CREATE TABLE pozytywka.import_runs (
	run_id		bigserial PRIMARY KEY,
	started_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	source		text NOT NULL,
	kind		text NOT NULL,
	lines		bigint NOT NULL,
	loaded		bigint NOT NULL,
	duplicates	bigint NOT NULL,
	repaired	bigint NOT NULL,
	rejected	bigint NOT NULL
);

-- Lines an import could not load, with the reason; never silently dropped.
CREATE TABLE pozytywka.import_rejects (
	reject_id	bigserial PRIMARY KEY,
	run_id		bigint REFERENCES pozytywka.import_runs,
	kind		text NOT NULL,
	line_no		bigint NOT NULL,
	line		text,
	reason		text NOT NULL
);
CREATE UNIQUE INDEX import_rejects_line_key
	ON pozytywka.import_rejects (kind, line_no, pg_catalog.md5(line)) NULLS NOT DISTINCT;

-- pg_dump: the data of these member tables is the user's.  The aggregate of
-- pozytywka.sessions (source 1) is left out on purpose: restoring sessions
-- fires the triggers that rebuild it.  That of the user's own tables is
-- kept: their triggers are restored after their rows, and with keep_history
-- it holds weeks whose events the table no longer has.
SELECT pg_catalog.pg_extension_config_dump('pozytywka.artists', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.tracks', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.users', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.track_storage', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.sessions', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.imported_weekly_stats', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.settings', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_runs', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_rejects', '');
-- their ids continue after a restore (0.1.0 left these out: a restored
-- database handed out run_id 1 again, test/shell/dump_restore.sh)
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.import_rejects_reject_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.event_sources', 'WHERE source_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.event_sources_source_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.weekly_stats', 'WHERE source_id <> 1');
SELECT pg_catalog.pg_extension_config_dump('pozytywka.weekly_deltas', 'WHERE source_id <> 1');
