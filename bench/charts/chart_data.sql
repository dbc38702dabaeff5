-- bench/charts/chart_data.sql — a synthetic, chart-like weekly dataset for
-- pozytywka.imported_weekly_stats, independent of the extension's own demo
-- generator (src/core/demogen.c): nothing here calls or mirrors it.
--
--   psql -v scenario=stable -v seed=1 -f bench/charts/chart_data.sql
--   (scenarios: stable, volatile, holiday, small; defaults stable / 1;
--    -v catalogue=1 also fills pozytywka.artists / pozytywka.tracks with
--    ids and names only — no release dates, which real weekly chart data
--    would not bring either)
--
-- What it simulates (a latent weekly stream level per track, then the
-- published chart):
--   * a pool of artists with heavy-tailed popularity;
--   * singles: debut at or near their peak (the first week is often partial
--     for a Friday release), then decay geometrically at a track-specific
--     rate; hits decay slowly and settle on a catalogue floor;
--   * album drops: 8-15 tracks of one artist debut the same week, high, and
--     fall back fast (one or two focus tracks decay slower); drops are more
--     frequent in the autumn release season and rare around new year;
--   * slow-burners ("viral"): start low and climb for 3-10 weeks before
--     peaking and decaying slowly;
--   * evergreens: a catalogue that was there before the data start, slowly
--     drifting with a yearly cycle;
--   * holiday songs: climb from mid-November, peak in Christmas week, fall in
--     the new-year week and are gone in January — every year;
--   * peak levels: Pareto-distributed, capped (no. 1 about 5-7x the last
--     chart position);
--   * multiplicative noise: a persistent part (moving average of three weekly
--     shocks) and a week-only part, a common market factor, Poisson counts;
--   * the chart is truncated: only the top K tracks of each week (by the
--     extension's score plays + 0.8 likes - 0.5 skips) get a row; a track
--     below the cut has no row that week and reappears if it climbs back.
-- Tracks debut during a 40-week burn-in before the first published week, so
-- the first week already holds a realistic mix of ages.
--
-- Deterministic for (scenario, seed): track creation draws random() after
-- setseed() in one plpgsql loop (a fixed order), the per-week noise comes from
-- a hash of (seed, track, week) so it does not depend on the query plan.
\set ON_ERROR_STOP on
\if :{?scenario}
\else
\set scenario stable
\endif
\if :{?seed}
\else
\set seed 1
\endif
\if :{?catalogue}
\else
\set catalogue 0
\endif
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;

-- uniform in (0, 1) from a hash of (seed, stream, a, b): plan-independent
CREATE FUNCTION pg_temp.cg_u(seed int, stream int, a int, b int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
	SELECT ((hashint8extended(a::bigint * 1000003 + b, seed::bigint * 10007 + stream)
			 & 9007199254740991)::float8 + 0.5) / 9007199254740992.0
$$;
-- standard normal from two such uniforms (Box-Muller)
CREATE FUNCTION pg_temp.cg_z(seed int, stream int, a int, b int) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
	SELECT sqrt(-2 * ln(pg_temp.cg_u(seed, stream, a, b)))
		   * cos(2 * pi() * pg_temp.cg_u(seed, stream + 1000, a, b))
$$;
-- Poisson(lambda) by inversion of u (normal approximation z for large lambda)
CREATE FUNCTION pg_temp.cg_poisson(lambda float8, u float8, z float8) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	k bigint := 0;
	p float8;
	f float8;
BEGIN
	IF lambda <= 0 THEN
		RETURN 0;
	ELSIF lambda >= 200 THEN
		RETURN greatest(0, round(lambda + sqrt(lambda) * z))::bigint;
	END IF;
	p := exp(-lambda);
	f := p;
	WHILE u > f AND k < 10000 LOOP
		k := k + 1;
		p := p * lambda / k;
		f := f + p;
	END LOOP;
	RETURN k;
END;
$$;
-- Poisson-count draw used by the track loop (Knuth, with random())
CREATE FUNCTION pg_temp.cg_rpois(lambda float8) RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	l float8 := exp(-lambda);
	k int := 0;
	p float8 := 1;
BEGIN
	LOOP
		p := p * random();
		EXIT WHEN p <= l;
		k := k + 1;
	END LOOP;
	RETURN k;
END;
$$;
-- Pareto(alpha) >= 1
CREATE FUNCTION pg_temp.cg_pareto(alpha float8) RETURNS float8
LANGUAGE sql VOLATILE AS $$ SELECT (1 - random()) ^ (-1 / alpha) $$;
CREATE FUNCTION pg_temp.cg_unif(lo float8, hi float8) RETURNS float8
LANGUAGE sql VOLATILE AS $$ SELECT lo + (hi - lo) * random() $$;

-- The holiday curve: a song's weekly level (share of its peak) for the week
-- starting on monday.  Christmas week (the Monday on or before Dec 25) = 1.
CREATE FUNCTION pg_temp.cg_holiday(monday date) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN d BETWEEN 0 AND 6 THEN 1.0				-- Christmas week
		WHEN d BETWEEN -55 AND -1 THEN exp(d / 13.0)	-- the climb from mid-November
		WHEN d BETWEEN 7 AND 13 THEN 0.30				-- new-year week
		WHEN d BETWEEN 14 AND 20 THEN 0.03			-- first full January week
		ELSE 0.004 END
	  FROM (SELECT monday - (make_date(y, 12, 25) - ((extract(isodow FROM make_date(y, 12, 25))::int + 6) % 7)) AS d
			  FROM (SELECT CASE WHEN extract(month FROM monday) = 1 THEN extract(year FROM monday)::int - 1
								ELSE extract(year FROM monday)::int END AS y) AS yy) AS x
$$;

CREATE TEMP TABLE cg_params AS
SELECT * FROM (VALUES
	-- scenario, weeks, end week (a Monday), chart size K, plays at latent 1,
	-- singles/week, album-drop probability/week, slow-burners/week, hit share,
	-- evergreens, holiday songs, persistent noise sd, weekly noise sd, artists
	('stable',   70, date '2025-10-27', 200, 1.0e6,  9.0, 0.10, 0.25, 0.40, 140, 25, 0.04, 0.03, 250),
	('volatile', 70, date '2025-10-27', 200, 1.0e6, 14.0, 0.55, 1.50, 0.20,  60, 25, 0.08, 0.07, 400),
	('holiday', 130, date '2026-01-19', 200, 1.0e6,  7.0, 0.20, 0.40, 0.35, 110, 40, 0.05, 0.04, 300),
	('small',    70, date '2025-10-27', 100, 8.0,    4.0, 0.12, 0.30, 0.35,  70, 15, 0.12, 0.10, 150)
) AS p (scenario, weeks, end_week, k, scale, singles, album_p, viral, hit_share,
		evergreens, holidays, sd_persist, sd_week, artists)
WHERE scenario = :'scenario';

SELECT count(*) = 1 AS known_scenario FROM cg_params \gset
\if :known_scenario
\else
\echo unknown scenario :scenario (stable, volatile, holiday, small)
\quit 3
\endif

CREATE TEMP TABLE cg_track (
	tid int PRIMARY KEY,
	kind text,			-- single, hit, album, focus, viral, evergreen, holiday
	artist int,
	debut int,			-- week index of the debut (negative: burn-in)
	lvl float8,			-- peak level in latent units (1 ~ the chart's bottom)
	f0 float8,			-- share of the peak in the debut week
	r float8,			-- weekly decay after the peak
	floor_ float8,		-- long-run share of the peak (catalogue floor)
	climb int,			-- weeks of climbing (viral)
	growth float8,		-- weekly growth while climbing
	phase float8,		-- evergreens: phase of the yearly cycle
	like_rate float8,
	skip_rate float8
);

CREATE FUNCTION pg_temp.cg_make_tracks(seed int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
	p record;
	burn int := 40;
	n int := 0;
	w int;
	a int;
	m int;
	alvl float8;
	artist_pop float8[];
	monday date;
	season float8;
BEGIN
	SELECT * INTO STRICT p FROM cg_params;
	PERFORM setseed(((seed::bigint * 2654435761) % 1999999) / 1000000.0 - 0.9999995);
	-- artist popularity: heavy-tailed, artist 1 the biggest
	SELECT array_agg(pg_temp.cg_pareto(1.6) ORDER BY g) INTO artist_pop FROM generate_series(1, p.artists) g;
	-- evergreens
	FOR i IN 1 .. p.evergreens LOOP
		n := n + 1;
		INSERT INTO cg_track VALUES (n, 'evergreen', 1 + floor(random() * p.artists)::int, -1000,
			least(1.5, 0.35 * pg_temp.cg_pareto(3.0)), 1, pg_temp.cg_unif(0.996, 1.0), 0, 0, 1,
			random() * 2 * pi(), pg_temp.cg_unif(0.01, 0.04), pg_temp.cg_unif(0.05, 0.25));
	END LOOP;
	-- holiday songs (a few big ones, many small ones)
	FOR i IN 1 .. p.holidays LOOP
		n := n + 1;
		INSERT INTO cg_track VALUES (n, 'holiday', 1 + floor(random() * p.artists)::int, -1000,
			least(3.5, 0.6 * pg_temp.cg_pareto(2.2)), 1, 1, 0, 0, 1, 0,
			pg_temp.cg_unif(0.02, 0.05), pg_temp.cg_unif(0.03, 0.12));
	END LOOP;
	FOR w IN -burn .. p.weeks - 1 LOOP
		monday := p.end_week - 7 * (p.weeks - 1 - w);
		-- release season: more album drops in autumn, few around new year
		season := CASE WHEN extract(month FROM monday) IN (9, 10, 11) THEN 1.6
					   WHEN (extract(month FROM monday) = 12 AND extract(day FROM monday) >= 15)
						 OR (extract(month FROM monday) = 1 AND extract(day FROM monday) < 10) THEN 0.3
					   ELSE 1.0 END;
		-- singles
		FOR i IN 1 .. pg_temp.cg_rpois(p.singles * least(season, 1.2)) LOOP
			n := n + 1;
			a := 1 + floor(random() ^ 1.5 * p.artists)::int;
			IF random() < p.hit_share THEN
				INSERT INTO cg_track VALUES (n, 'hit', a, w,
					least(3.0, 0.6 * pg_temp.cg_pareto(4.0) * artist_pop[a] ^ 0.3), pg_temp.cg_unif(0.75, 1.05),
					pg_temp.cg_unif(0.90, 0.975), pg_temp.cg_unif(0.08, 0.30), 0, 1, 0,
					pg_temp.cg_unif(0.015, 0.05), pg_temp.cg_unif(0.05, 0.2));
			ELSE
				INSERT INTO cg_track VALUES (n, 'single', a, w,
					least(3.0, 0.5 * pg_temp.cg_pareto(4.0) * artist_pop[a] ^ 0.3), pg_temp.cg_unif(0.7, 1.05),
					pg_temp.cg_unif(0.70, 0.90), pg_temp.cg_unif(0.0, 0.06), 0, 1, 0,
					pg_temp.cg_unif(0.01, 0.04), pg_temp.cg_unif(0.1, 0.3));
			END IF;
		END LOOP;
		-- an album drop: 8-15 tracks of one (rather popular) artist at once
		IF random() < p.album_p * season THEN
			a := 1 + floor(random() ^ 2.5 * p.artists)::int;
			alvl := least(3.0, 1.2 * pg_temp.cg_pareto(3.5) * artist_pop[a] ^ 0.3);
			m := 8 + floor(random() * 8)::int;
			FOR j IN 1 .. m LOOP
				n := n + 1;
				IF j <= 2 THEN	-- focus tracks: the singles of the album
					INSERT INTO cg_track VALUES (n, 'focus', a, w,
						alvl * pg_temp.cg_unif(0.6, 1.0), pg_temp.cg_unif(0.9, 1.05),
						pg_temp.cg_unif(0.80, 0.93), pg_temp.cg_unif(0.05, 0.15), 0, 1, 0,
						pg_temp.cg_unif(0.015, 0.05), pg_temp.cg_unif(0.05, 0.2));
				ELSE			-- album filler: high debut, fast fall
					INSERT INTO cg_track VALUES (n, 'album', a, w,
						alvl * pg_temp.cg_unif(0.2, 0.8), 1,
						pg_temp.cg_unif(0.35, 0.65), pg_temp.cg_unif(0.0, 0.03), 0, 1, 0,
						pg_temp.cg_unif(0.005, 0.02), pg_temp.cg_unif(0.15, 0.35));
				END IF;
			END LOOP;
		END IF;
		-- slow-burners: climb for weeks, then decay slowly
		FOR i IN 1 .. pg_temp.cg_rpois(p.viral) LOOP
			n := n + 1;
			INSERT INTO cg_track VALUES (n, 'viral', 1 + floor(random() * p.artists)::int, w,
				least(3.0, 0.8 * pg_temp.cg_pareto(3.5)), 1, pg_temp.cg_unif(0.88, 0.96), pg_temp.cg_unif(0.1, 0.3),
				3 + floor(random() * 8)::int, pg_temp.cg_unif(1.15, 1.45), 0,
				pg_temp.cg_unif(0.02, 0.06), pg_temp.cg_unif(0.05, 0.15));
		END LOOP;
	END LOOP;
	RETURN n;
END;
$$;
SELECT pg_temp.cg_make_tracks(:seed) AS tracks_simulated \gset

-- latent level x noise x market factor -> expected plays, for every week a
-- track is alive; then Poisson counts, likes and skips
CREATE TEMP TABLE cg_week AS
WITH p AS (SELECT * FROM cg_params),
lat AS (
	SELECT t.*, w, p.end_week - 7 * (p.weeks - 1 - w) AS monday, w - t.debut AS age,
		   p.scale, p.sd_persist, p.sd_week
	  FROM cg_track AS t, p,
		   LATERAL generate_series(greatest(0, t.debut), p.weeks - 1) AS w
),
lvl AS (
	SELECT l.*,
		   CASE kind
			 WHEN 'evergreen' THEN lvl * r ^ (w + 40) * exp(0.15 * sin(2 * pi() * w / 52.0 + phase))
			 WHEN 'holiday' THEN lvl * pg_temp.cg_holiday(monday)
			 WHEN 'viral' THEN
				CASE WHEN age < climb THEN lvl * growth ^ (age - climb)
					 ELSE lvl * (floor_ + (1 - floor_) * r ^ (age - climb)) END
			 ELSE
				CASE WHEN age = 0 THEN lvl * f0
					 ELSE lvl * (floor_ + (1 - floor_) * r ^ (age - 1)) END
		   END AS latent
	  FROM lat AS l
),
noisy AS (
	SELECT tid, w, monday, like_rate, skip_rate,
		   scale * latent
		   -- the market: a little more streaming in December, less in summer
		   * (1 + 0.06 * cos(2 * pi() * (extract(doy FROM monday) - 355) / 365.25))
		   * exp(sd_persist * (pg_temp.cg_z(:seed, 1, tid, w) + pg_temp.cg_z(:seed, 1, tid, w - 1)
							   + pg_temp.cg_z(:seed, 1, tid, w - 2)) / sqrt(3)
				 + sd_week * pg_temp.cg_z(:seed, 2, tid, w)) AS expected
	  FROM lvl
	 WHERE latent > 0.05
),
counts AS (
	SELECT tid, w, monday, like_rate, skip_rate,
		   pg_temp.cg_poisson(expected, pg_temp.cg_u(:seed, 3, tid, w), pg_temp.cg_z(:seed, 4, tid, w)) AS plays
	  FROM noisy
)
SELECT tid, w, monday, plays,
	   least(plays, pg_temp.cg_poisson(plays * like_rate * exp(0.2 * pg_temp.cg_z(:seed, 5, tid, w)),
									   pg_temp.cg_u(:seed, 6, tid, w), pg_temp.cg_z(:seed, 7, tid, w))) AS likes,
	   least(plays, pg_temp.cg_poisson(plays * skip_rate * exp(0.2 * pg_temp.cg_z(:seed, 8, tid, w)),
									   pg_temp.cg_u(:seed, 9, tid, w), pg_temp.cg_z(:seed, 10, tid, w))) AS skips
  FROM counts
 WHERE plays > 0;

-- the published chart: the top K of each week by score
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
SELECT 'chart-' || tid, monday, plays, likes, skips
  FROM (SELECT c.*, row_number() OVER (PARTITION BY w ORDER BY plays + 0.8 * likes - 0.5 * skips DESC,
												   pg_temp.cg_u(:seed, 11, tid, w)) AS rank
		  FROM cg_week AS c) AS ranked, cg_params AS p
 WHERE rank <= p.k;

\if :catalogue
INSERT INTO pozytywka.artists (id, name)
SELECT DISTINCT 'chart-artist-' || t.artist, 'Chart Artist ' || t.artist
  FROM cg_track AS t WHERE EXISTS (SELECT FROM pozytywka.imported_weekly_stats i WHERE i.track_id = 'chart-' || t.tid)
ON CONFLICT (id) DO NOTHING;
INSERT INTO pozytywka.tracks (id, name, id_artist)
SELECT 'chart-' || t.tid, initcap(t.kind) || ' ' || t.tid, 'chart-artist-' || t.artist
  FROM cg_track AS t WHERE EXISTS (SELECT FROM pozytywka.imported_weekly_stats i WHERE i.track_id = 'chart-' || t.tid)
ON CONFLICT (id) DO NOTHING;
\endif

ANALYZE pozytywka.imported_weekly_stats;
