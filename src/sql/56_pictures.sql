-- part 56: pictures — what a person would rather look at than read.
--
--   track_sparkline(track_id, weeks, as_of): a track's weekly scores as a
--       small standalone SVG document, for dashboards that render it
--   report_html(n, backtest_weeks): one self-contained HTML page (inline
--       CSS and SVG, nothing fetched from anywhere) with next week's list
--       and a sparkline per track (#top-list), the forecast and its 80%
--       interval of the top tracks (#forecast), the backtest of every model
--       over time (#backtest) and the automatic choice (#auto-choice); the
--       command pozytywka-report writes it to a file
--
-- Every text taken from the data (track ids and names, artist names, model
-- names, reasons) goes through pozytywka.xml_escape; numbers are rounded to
-- what a person reads (pozytywka.display_score).

-- Text as XML/HTML character data or attribute value: & < > " ' escaped,
-- and the control characters XML 1.0 does not allow replaced by '?', so
-- that any track id gives a well-formed document.
CREATE FUNCTION pozytywka.xml_escape(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
			   pg_catalog.regexp_replace(s, '[\x01-\x08\x0B\x0C\x0E-\x1F]', '?', 'g'),
			   '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
$$;

-- A score as a person reads it: whole numbers from 100 on, one decimal
-- below (NULL stays NULL).
CREATE FUNCTION pozytywka.display_score(score double precision)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN score IS NULL OR score::text IN ('NaN', 'Infinity', '-Infinity') THEN NULL
				WHEN pg_catalog.abs(score) >= 100.0::float8 THEN pg_catalog.round(score::numeric, 0)
				ELSE pg_catalog.round(score::numeric, 1) END;
$$;

-- An SVG coordinate: one decimal.
CREATE FUNCTION pozytywka.svg_num(x double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.round(x::numeric, 1)::text;
$$;

-- The y coordinate of value v in a plot box from top to top + height whose
-- scale runs from lo (bottom) to hi (top); the middle when lo = hi.
CREATE FUNCTION pozytywka.svg_y(v double precision, top double precision, height double precision,
								lo double precision, hi double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT top + height * (1.0::float8 - coalesce((v - lo) / NULLIF(hi - lo, 0.0::float8), 0.5::float8));
$$;

-- The points attribute of a polyline through ys (NULL elements skipped):
-- slot i of `slots` evenly spaced from x0 to x0 + width, values scaled by
-- svg_y.
CREATE FUNCTION pozytywka.svg_points(ys double precision[], slots integer,
									 x0 double precision, width double precision,
									 top double precision, height double precision,
									 lo double precision, hi double precision)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.string_agg(
			   pozytywka.svg_num(x0 + width * (u.i - 1)::float8 / GREATEST(slots - 1, 1)::float8)
			   || ',' || pozytywka.svg_num(pozytywka.svg_y(u.y, top, height, lo, hi)),
			   ' ' ORDER BY u.i), '')
	  FROM unnest(ys) WITH ORDINALITY AS u (y, i)
	 WHERE u.y IS NOT NULL;
$$;

-- A track's score in each of the `weeks` weeks ending with last_week, 0 in
-- the weeks without events (the view weekly_scores, current weights).
CREATE FUNCTION pozytywka.track_weeks(track_id text, weeks integer, last_week date)
RETURNS TABLE (week date, score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT g.w::date, coalesce(s.score, 0.0::float8)
	  FROM generate_series($3 - 7 * ($2 - 1), $3, interval '7 days') AS g (w)
	  LEFT JOIN (SELECT ws.week, ws.score
				   FROM pozytywka.weekly_scores AS ws
				  WHERE ws.track_id = $1
					AND ws.week BETWEEN $3 - 7 * ($2 - 1) AND $3) AS s
		ON s.week = g.w::date
	 ORDER BY g.w;
$$;

-- A track is known when the catalogue lists it or it has weekly history.
CREATE FUNCTION pozytywka.check_track(track_id text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	IF track_id IS NULL THEN
		RAISE EXCEPTION 'track_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pozytywka.tracks AS t WHERE t.id = check_track.track_id)
	   AND NOT EXISTS (SELECT 1 FROM pozytywka.weekly_rows AS r WHERE r.track_id = check_track.track_id) THEN
		RAISE EXCEPTION 'no such track: %', track_id
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The track is neither in pozytywka.tracks nor in the weekly history.';
	END IF;
END;
$$;

-- A sparkline: the scores of consecutive weeks as a line in a 120 x 32 box
-- (the scale from min(0, lowest) to the highest), the last week marked.
-- standalone: an SVG document of its own (with its namespace); otherwise
-- an element for an HTML page.  label names the series in its <title>.
CREATE FUNCTION pozytywka.sparkline_svg(label text, weeks date[], scores double precision[],
										standalone boolean)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	w constant float8 := 120;
	h constant float8 := 32;
	pad constant float8 := 3;
	k integer := coalesce(cardinality(scores), 0);
	lo float8;
	hi float8;
	last_score float8 := scores[k];
BEGIN
	SELECT least(min(v), 0.0::float8), max(v) INTO lo, hi FROM unnest(scores) AS v;
	RETURN '<svg ' || CASE WHEN standalone THEN 'xmlns="http://www.w3.org/2000/svg" ' ELSE '' END
		|| 'class="sparkline" width="120" height="32" viewBox="0 0 120 32" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('%s: weekly score, %s to %s; last %s, highest %s',
													 label, weeks[1], weeks[k],
													 pozytywka.display_score(last_score),
													 pozytywka.display_score(hi))) || '</title>'
		|| '<polyline fill="none" stroke="#2b6cb0" stroke-width="1.5" stroke-linejoin="round" points="'
		|| pozytywka.svg_points(scores, k, pad, w - 2 * pad, pad, h - 2 * pad, lo, hi) || '"/>'
		|| CASE WHEN k > 0 THEN
			   '<circle r="2.5" fill="#c05621" cx="' || pozytywka.svg_num(w - pad) || '" cy="'
			   || pozytywka.svg_num(pozytywka.svg_y(last_score, pad, h - 2 * pad, lo, hi)) || '"/>'
		   ELSE '' END
		|| '</svg>';
END;
$$;

-- A track's last `weeks` weeks (to as_of, default the latest complete week)
-- as a standalone SVG document.  An unknown track is an error; a known
-- track without events in those weeks gives a flat line at 0.
CREATE FUNCTION @extschema@.track_sparkline(track_id text, weeks integer DEFAULT 12,
											as_of date DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET jit = off
AS $$
DECLARE
	origin date;
	ws date[];
	scores float8[];
BEGIN
	IF weeks IS NULL THEN
		RAISE EXCEPTION 'weeks must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF weeks < 2 OR weeks > 520 THEN
		RAISE EXCEPTION 'weeks must be between 2 and 520, not %', weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pozytywka.check_track(track_id);
	origin := pozytywka.resolve_as_of(as_of);
	SELECT array_agg(t.week ORDER BY t.week), array_agg(t.score ORDER BY t.week) INTO ws, scores
	  FROM pozytywka.track_weeks(track_id, weeks, origin) AS t;
	RETURN pozytywka.sparkline_svg(track_id, ws, scores, true);
END;
$$;
COMMENT ON FUNCTION @extschema@.track_sparkline(text, integer, date) IS
	'A track''s weekly scores of the last weeks (default 12, up to as_of) as a small standalone SVG document';

-- The forecast of one track: its recent weeks as a line, then next week's
-- predicted score as a point with its 80% interval as a bar (320 x 80).
CREATE FUNCTION pozytywka.forecast_svg(label text, scores double precision[],
									   predicted double precision, lower double precision,
									   upper double precision)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	k integer := coalesce(cardinality(scores), 0);
	slots integer := k + 1;
	x0 constant float8 := 8;
	width constant float8 := 304;
	top constant float8 := 8;
	height constant float8 := 64;
	lo float8;
	hi float8;
	xf float8 := x0 + width;
	xl float8 := x0 + width * (k - 1)::float8 / GREATEST(slots - 1, 1)::float8;
BEGIN
	SELECT least(min(v), 0.0::float8), max(v) INTO lo, hi
	  FROM unnest(scores || ARRAY[predicted, lower, upper]) AS v;
	RETURN '<svg class="forecast" width="320" height="80" viewBox="0 0 320 80" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('%s: the last %s weeks and next week''s forecast %s (80%% interval %s to %s)',
													 label, k, pozytywka.display_score(predicted),
													 coalesce(pozytywka.display_score(lower)::text, '?'),
													 coalesce(pozytywka.display_score(upper)::text, '?'))) || '</title>'
		|| '<line class="axis" x1="' || pozytywka.svg_num(x0) || '" x2="' || pozytywka.svg_num(xf)
		|| '" y1="' || pozytywka.svg_num(pozytywka.svg_y(lo, top, height, lo, hi)) || '" y2="'
		|| pozytywka.svg_num(pozytywka.svg_y(lo, top, height, lo, hi)) || '" stroke="#cbd5e0"/>'
		|| '<polyline class="history" fill="none" stroke="#2b6cb0" stroke-width="2" points="'
		|| pozytywka.svg_points(scores, slots, x0, width, top, height, lo, hi) || '"/>'
		|| CASE WHEN k > 0 AND predicted IS NOT NULL THEN
			   '<line class="step" stroke="#c05621" stroke-dasharray="4 3" x1="' || pozytywka.svg_num(xl)
			   || '" y1="' || pozytywka.svg_num(pozytywka.svg_y(scores[k], top, height, lo, hi))
			   || '" x2="' || pozytywka.svg_num(xf) || '" y2="'
			   || pozytywka.svg_num(pozytywka.svg_y(predicted, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| CASE WHEN lower IS NOT NULL AND upper IS NOT NULL THEN
			   '<line class="interval" stroke="#c05621" stroke-width="6" stroke-opacity="0.35" x1="'
			   || pozytywka.svg_num(xf) || '" x2="' || pozytywka.svg_num(xf) || '" y1="'
			   || pozytywka.svg_num(pozytywka.svg_y(lower, top, height, lo, hi)) || '" y2="'
			   || pozytywka.svg_num(pozytywka.svg_y(upper, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| CASE WHEN predicted IS NOT NULL THEN
			   '<circle class="point" r="4" fill="#c05621" cx="' || pozytywka.svg_num(xf) || '" cy="'
			   || pozytywka.svg_num(pozytywka.svg_y(predicted, top, height, lo, hi)) || '"/>'
		   ELSE '' END
		|| '</svg>';
END;
$$;

-- The backtest over time: overlap@n of each model (one line each, 'auto'
-- thicker) per backtest week, on a 0-1 scale, with a legend (700 x 300).
CREATE FUNCTION pozytywka.backtest_svg(n integer, weeks date[], models text[], overlap_values double precision[])
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
	palette constant text[] := ARRAY['#2b6cb0', '#c05621', '#2f855a', '#6b46c1', '#b7791f',
									 '#c53030', '#319795', '#718096', '#d53f8c', '#4a5568'];
	x0 constant float8 := 48;
	width constant float8 := 540;
	top constant float8 := 12;
	height constant float8 := 250;
	axis_weeks date[];
	kinds text[];
	out text;
	g float8;
	i integer;
	k text;
BEGIN
	SELECT coalesce(array_agg(DISTINCT w ORDER BY w), '{}') INTO axis_weeks FROM unnest(weeks) AS w;
	SELECT coalesce(array_agg(DISTINCT m ORDER BY m), '{}') INTO kinds FROM unnest(models) AS m;
	out := '<svg class="backtest" width="700" height="300" viewBox="0 0 700 300" role="img">'
		|| '<title>' || pozytywka.xml_escape(format('Backtest: overlap@%s of each model''s list with the real top %s, weeks %s to %s',
													 n, n, axis_weeks[1], axis_weeks[cardinality(axis_weeks)])) || '</title>';
	-- grid and the overlap scale
	FOREACH g IN ARRAY ARRAY[0, 0.25, 0.5, 0.75, 1]::float8[] LOOP
		out := out || '<line stroke="#e2e8f0" x1="' || pozytywka.svg_num(x0) || '" x2="'
			|| pozytywka.svg_num(x0 + width) || '" y1="' || pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1))
			|| '" y2="' || pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1)) || '"/>'
			|| '<text class="tick" text-anchor="end" x="' || pozytywka.svg_num(x0 - 6) || '" y="'
			|| pozytywka.svg_num(pozytywka.svg_y(g, top, height, 0, 1) + 4) || '">' || g::text || '</text>';
	END LOOP;
	-- the first and the last week under the axis
	IF cardinality(axis_weeks) > 0 THEN
		out := out || '<text class="tick" x="' || pozytywka.svg_num(x0) || '" y="' || pozytywka.svg_num(top + height + 18)
			|| '">' || axis_weeks[1]::text || '</text>'
			|| '<text class="tick" text-anchor="end" x="' || pozytywka.svg_num(x0 + width) || '" y="'
			|| pozytywka.svg_num(top + height + 18) || '">' || axis_weeks[cardinality(axis_weeks)]::text || '</text>';
	END IF;
	i := 0;
	FOREACH k IN ARRAY kinds LOOP
		i := i + 1;
		out := out || '<polyline class="model" fill="none" stroke="' || palette[1 + (i - 1) % cardinality(palette)]
			|| '" stroke-width="' || CASE WHEN k = 'auto' THEN '3.5' ELSE '1.5' END || '" points="'
			|| pozytywka.svg_points((SELECT array_agg(b.o ORDER BY aw.pos)
									   FROM unnest(axis_weeks) WITH ORDINALITY AS aw (w, pos)
									   LEFT JOIN unnest(weeks, models, overlap_values) AS b (w, m, o)
										 ON b.w = aw.w AND b.m = k),
									cardinality(axis_weeks), x0, width, top, height, 0, 1)
			|| '"><title>' || pozytywka.xml_escape(k) || '</title></polyline>'
			|| '<line stroke-width="4" stroke="' || palette[1 + (i - 1) % cardinality(palette)]
			|| '" x1="600" x2="620" y1="' || pozytywka.svg_num(top + 4 + 20 * (i - 1)) || '" y2="'
			|| pozytywka.svg_num(top + 4 + 20 * (i - 1)) || '"/>'
			|| '<text class="legend" x="626" y="' || pozytywka.svg_num(top + 8 + 20 * (i - 1)) || '">'
			|| pozytywka.xml_escape(k) || '</text>';
	END LOOP;
	RETURN out || '</svg>';
END;
$$;

-- Section #top-list: the next-week list as a table, a sparkline per track.
CREATE FUNCTION pozytywka.report_top_list(n integer, origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	rows_html text;
	used text;
BEGIN
	SELECT string_agg(
			   '<tr data-rank="' || t.rank || '"><td class="num">' || t.rank || '</td>'
			   || '<td><span class="name">' || pozytywka.xml_escape(coalesce(t.track_name, t.track_id)) || '</span>'
			   || '<br><span class="id">' || pozytywka.xml_escape(t.track_id) || '</span></td>'
			   || '<td>' || pozytywka.xml_escape(coalesce(t.artist_name, '')) || '</td>'
			   || '<td class="num">' || coalesce(pozytywka.display_score(t.predicted_score)::text, '') || '</td>'
			   || '<td class="num">' || coalesce(pozytywka.display_score(t.lower) || '&ndash;' || pozytywka.display_score(t.upper), '&ndash;') || '</td>'
			   || '<td class="num">' || coalesce(round(t.p_top * 100)::integer || ' %', '&ndash;') || '</td>'
			   || '<td>' || pozytywka.sparkline_svg(t.track_id, s.ws, s.scores, false) || '</td></tr>',
			   E'\n' ORDER BY t.rank),
		   min(t.model)
	  INTO rows_html, used
	  FROM @extschema@.top_tracks_next_week(n, 'auto', origin) AS t,
		   LATERAL (SELECT array_agg(tw.week ORDER BY tw.week) AS ws, array_agg(tw.score ORDER BY tw.week) AS scores
					  FROM pozytywka.track_weeks(t.track_id, 12, origin) AS tw) AS s;
	RETURN '<section id="top-list"><h2>Next week''s top ' || n || '</h2>'
		|| '<p>The week of ' || (origin + 7)::text || ', forecast from the week of ' || origin::text
		|| ' by the model <b>' || pozytywka.xml_escape(coalesce(used, '?')) || '</b> (auto). '
		|| 'Interval: 80% prediction interval of the score; chance: the probability of the real top '
		|| n || '; weeks: the last 12 weeks'' scores.</p>'
		|| '<table><thead><tr><th class="num">#</th><th>track</th><th>artist</th><th class="num">score</th>'
		|| '<th class="num">80% interval</th><th class="num">chance</th><th>weeks</th></tr></thead><tbody>' || E'\n'
		|| coalesce(rows_html, '') || E'\n</tbody></table></section>';
END;
$$;

-- Section #forecast: recent weeks and the forecast with its interval, for
-- the top `shown` tracks of the list of n (its intervals are those of the
-- list: calibrated for n).
CREATE FUNCTION pozytywka.report_forecasts(n integer, shown integer, origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	charts text;
BEGIN
	SELECT string_agg('<figure><figcaption>' || t.rank || '. '
					  || pozytywka.xml_escape(coalesce(t.track_name, t.track_id))
					  || CASE WHEN t.artist_name IS NOT NULL THEN ' &mdash; ' || pozytywka.xml_escape(t.artist_name) ELSE '' END
					  || ': <b>' || coalesce(pozytywka.display_score(t.predicted_score)::text, '?') || '</b>'
					  || coalesce(' <span class="nw">(' || pozytywka.display_score(t.lower) || '&ndash;'
								  || pozytywka.display_score(t.upper) || ')</span>', '')
					  || '</figcaption>'
					  || pozytywka.forecast_svg(t.track_id, s.scores, t.predicted_score, t.lower, t.upper)
					  || '</figure>', E'\n' ORDER BY t.rank) FILTER (WHERE t.rank <= shown)
	  INTO charts
	  FROM @extschema@.top_tracks_next_week(n, 'auto', origin) AS t,
		   LATERAL (SELECT array_agg(tw.score ORDER BY tw.week) AS scores
					  FROM pozytywka.track_weeks(t.track_id, 12, origin) AS tw) AS s;
	RETURN '<section id="forecast"><h2>The forecast of the top ' || shown || '</h2>'
		|| '<p>The last 12 weeks (blue), next week''s predicted score (dot) and its 80% interval (bar).</p>'
		|| '<div class="figures">' || coalesce(charts, '') || '</div></section>';
END;
$$;

-- Section #backtest: overlap@n of every model kind and 'auto' per week
-- (backtest_top_tracks(n, weeks, 'all')) as a chart, and the means.
CREATE FUNCTION pozytywka.report_backtest(n integer, weeks integer)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	ws date[];
	ms text[];
	os float8[];
	means text;
BEGIN
	SELECT coalesce(array_agg(b.week), '{}'), coalesce(array_agg(b.model), '{}'),
		   coalesce(array_agg(b.overlap), '{}')
	  INTO ws, ms, os
	  FROM @extschema@.backtest_top_tracks(n, weeks, 'all') AS b;
	SELECT string_agg('<tr><td>' || pozytywka.xml_escape(m.m) || '</td><td class="num">' || m.weeks
					  || '</td><td class="num">' || coalesce(round(m.mean::numeric, 3)::text, '&ndash;') || '</td></tr>',
					  '' ORDER BY m.mean DESC NULLS LAST, m.m)
	  INTO means
	  FROM (SELECT u.m, count(u.o) AS weeks, avg(u.o) AS mean
			  FROM unnest(ms, os) AS u (m, o) GROUP BY u.m) AS m;
	RETURN '<section id="backtest"><h2>How good each model was</h2>'
		|| '<p>Backtest of the last ' || weeks || ' weeks: each week''s list forecast from the week before, '
		|| 'overlap@' || n || ' = the share of the real top ' || n || ' it predicted.</p>'
		|| '<div class="figures">' || pozytywka.backtest_svg(n, ws, ms, os)
		|| '<table class="means"><thead><tr><th>model</th><th class="num">weeks</th><th class="num">mean overlap</th></tr></thead><tbody>'
		|| coalesce(means, '') || '</tbody></table></div></section>';
END;
$$;

-- Section #auto-choice: which model 'auto' picks and why (explain_choice).
CREATE FUNCTION pozytywka.report_auto_choice(origin date)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	rows_html text;
	winner text;
	why text;
BEGIN
	SELECT string_agg('<tr' || CASE WHEN e.chosen THEN ' class="chosen"' ELSE '' END || '><td>'
					  || pozytywka.xml_escape(e.model) || '</td><td class="num">'
					  || coalesce(round(e.mean_overlap::numeric, 3)::text, '&ndash;') || '</td><td class="num">'
					  || coalesce(round(e.entries_caught::numeric * 100)::text || ' %', '&ndash;') || '</td><td>'
					  || pozytywka.xml_escape(e.reason) || '</td></tr>', '' ORDER BY e.ord),
		   min(e.model) FILTER (WHERE e.chosen), min(e.reason) FILTER (WHERE e.chosen)
	  INTO rows_html, winner, why
	  FROM (SELECT x.*, row_number() OVER () AS ord FROM @extschema@.explain_choice(origin) AS x) AS e;
	RETURN '<section id="auto-choice"><h2>The automatic choice</h2>'
		|| '<p class="verdict">auto picks <b>' || pozytywka.xml_escape(coalesce(winner, '?')) || '</b>: '
		|| pozytywka.xml_escape(coalesce(why, '')) || '</p>'
		|| '<table><thead><tr><th>model</th><th class="num">mean overlap</th><th class="num">new entries caught</th><th>reason</th></tr></thead><tbody>'
		|| coalesce(rows_html, '') || '</tbody></table></section>';
END;
$$;

-- The whole page.  n: the list's length (1-1000); backtest_weeks: the
-- weeks of the backtest chart (1-52).  As of the latest complete week.
CREATE FUNCTION @extschema@.report_html(n integer DEFAULT 50, backtest_weeks integer DEFAULT 8)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET jit = off
AS $$
DECLARE
	origin date;
BEGIN
	IF n IS NULL OR backtest_weeks IS NULL THEN
		RAISE EXCEPTION '% must not be NULL', CASE WHEN n IS NULL THEN 'n' ELSE 'backtest_weeks' END
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF n < 1 OR n > 1000 THEN
		RAISE EXCEPTION 'n must be between 1 and 1000, not %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF backtest_weeks < 1 OR backtest_weeks > 52 THEN
		RAISE EXCEPTION 'backtest_weeks must be between 1 and 52, not %', backtest_weeks
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	origin := pozytywka.resolve_as_of(NULL);
	RETURN '<!DOCTYPE html>' || E'\n'
		|| '<html lang="en"><head><meta charset="utf-8">'
		-- nothing may load or run, whatever a text in the data holds
		|| '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
		|| '<title>pozytywka: the top ' || n || ' of the week of ' || (origin + 7)::text || '</title>'
		|| '<style>'
		|| 'body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1a202c;max-width:1100px}'
		|| 'h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px}'
		|| 'table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:middle}'
		|| 'td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}'
		|| '.id{color:#718096;font-size:11px}.nw{white-space:nowrap}.name{font-weight:600}'
		|| 'tr.chosen{background:#fefcbf}'
		|| '.figures{display:flex;flex-wrap:wrap;gap:8px 24px;align-items:flex-start}figure{margin:0;width:320px}figcaption{font-size:13px}'
		|| 'svg text{font:12px system-ui,sans-serif;fill:#4a5568}'
		|| '</style></head><body>' || E'\n'
		|| '<h1>pozytywka: next week''s top tracks</h1>'
		|| '<p class="meta">Data to the week of ' || origin::text || ' (latest complete week); made '
		|| to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC.</p>' || E'\n'
		|| pozytywka.report_top_list(n, origin) || E'\n'
		|| pozytywka.report_forecasts(n, least(n, 10), origin) || E'\n'
		|| pozytywka.report_backtest(n, backtest_weeks) || E'\n'
		|| pozytywka.report_auto_choice(origin) || E'\n'
		|| '</body></html>' || E'\n';
END;
$$;
COMMENT ON FUNCTION @extschema@.report_html(integer, integer) IS
	'One self-contained HTML page (inline SVG, nothing fetched): next week''s list with sparklines, the forecast of the top tracks, the backtest of every model over time, the automatic choice';
