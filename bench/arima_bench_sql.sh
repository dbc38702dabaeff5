#!/bin/sh
# arima_bench_sql.sh SERIES_FILE -- time arima_forecast through psql on the
# benchmark series: server-side wall time of one statement over all series
# (clock_timestamp()) and the backend's CPU time (/proc/self/stat; needs a
# superuser for pg_read_file).  Prints "sql_arima111 wall_ms cpu_ms failures"
# and "sql_auto ..." (per series).
set -e
SERIES="$1"
TMP=$(mktemp)
awk '{ gsub(/ +$/, ""); gsub(/ +/, ","); printf "%d\t{%s}\n", NR, $0 }' "$SERIES" > "$TMP"
psql -X -q -v ON_ERROR_STOP=1 2>&1 <<SQL | sed -n 's/^NOTICE:  \(sql_\)/\1/p'
SET client_min_messages = notice;
CREATE EXTENSION IF NOT EXISTS pozytywka;
CREATE TEMP TABLE arima_bench_series(id int, s float8[]);
\copy arima_bench_series FROM '$TMP'
CREATE FUNCTION pg_temp.cpu_ms() RETURNS float8 LANGUAGE sql AS \$\$
	SELECT (f[14]::float8 + f[15]::float8) * 10
	  FROM regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f0(g),
		   LATERAL (SELECT ARRAY['pid', 'comm'] || g) AS f1(f)
\$\$;
DO \$\$
DECLARE t0 timestamptz; c0 float8; n int; k int;
BEGIN
	SELECT count(*) INTO n FROM arima_bench_series;
	-- one statement over all series (an error in any would abort it: the
	-- failure count is then reported as n); CPU time of this backend from
	-- /proc/self/stat (utime + stime, clock ticks of 10 ms)
	t0 := clock_timestamp();
	c0 := pg_temp.cpu_ms();
	SELECT count(arima_forecast(s, 1, 1, 1, 1)) INTO k FROM arima_bench_series;
	RAISE NOTICE 'sql_arima111 % % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n,
		(pg_temp.cpu_ms() - c0) / n, n - k;
	t0 := clock_timestamp();
	c0 := pg_temp.cpu_ms();
	SELECT count(arima_forecast(s, 1)) INTO k FROM arima_bench_series;
	RAISE NOTICE 'sql_auto % % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n,
		(pg_temp.cpu_ms() - c0) / n, n - k;
END
\$\$;
SQL
rm -f "$TMP"
