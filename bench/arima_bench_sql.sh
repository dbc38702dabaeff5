#!/bin/sh
# arima_bench_sql.sh SERIES_FILE -- time arima_forecast through psql on the
# benchmark series (server-side wall time of one statement over all series,
# measured with clock_timestamp(); includes array detoasting and output).  Prints "sql_arima111 ms failures" and
# "sql_auto ms failures".
set -e
SERIES="$1"
TMP=$(mktemp)
awk '{ gsub(/ +$/, ""); gsub(/ +/, ","); printf "%d\t{%s}\n", NR, $0 }' "$SERIES" > "$TMP"
psql -X -q -v ON_ERROR_STOP=1 2>&1 <<SQL | sed -n 's/^NOTICE:  \(sql_\)/\1/p'
SET client_min_messages = notice;
CREATE EXTENSION IF NOT EXISTS pozytywka;
CREATE TEMP TABLE arima_bench_series(id int, s float8[]);
\copy arima_bench_series FROM '$TMP'
DO \$\$
DECLARE t0 timestamptz; n int; k int;
BEGIN
	SELECT count(*) INTO n FROM arima_bench_series;
	-- one statement over all series (an error in any would abort it: the
	-- failure count is then reported as n)
	t0 := clock_timestamp();
	SELECT count(arima_forecast(s, 1, 1, 1, 1)) INTO k FROM arima_bench_series;
	RAISE NOTICE 'sql_arima111 % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n, n - k;
	t0 := clock_timestamp();
	SELECT count(arima_forecast(s, 1)) INTO k FROM arima_bench_series;
	RAISE NOTICE 'sql_auto % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n, n - k;
END
\$\$;
SQL
rm -f "$TMP"
