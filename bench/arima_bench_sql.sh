#!/bin/sh
# arima_bench_sql.sh SERIES_FILE -- time arima_forecast through psql on the
# benchmark series (server-side wall time of one statement over all series,
# measured with clock_timestamp()).  Prints "sql_arima111 ms failures" and
# "sql_auto ms failures".
set -e
SERIES="$1"
TMP=$(mktemp)
awk '{ gsub(/ +$/, ""); gsub(/ +/, ","); printf "%d\t{%s}\n", NR, $0 }' "$SERIES" > "$TMP"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
CREATE TEMP TABLE arima_bench_series(id int, s float8[]);
\copy arima_bench_series FROM '$TMP'
DO \$\$
DECLARE t0 timestamptz; n int; r record; f int := 0;
BEGIN
	SELECT count(*) INTO n FROM arima_bench_series;
	t0 := clock_timestamp();
	FOR r IN SELECT s FROM arima_bench_series LOOP
		BEGIN
			PERFORM arima_forecast(r.s, 1, 1, 1, 1);
		EXCEPTION WHEN others THEN f := f + 1;
		END;
	END LOOP;
	RAISE NOTICE 'sql_arima111 % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n, f;
	f := 0;
	t0 := clock_timestamp();
	FOR r IN SELECT s FROM arima_bench_series LOOP
		BEGIN
			PERFORM arima_forecast(r.s, 1);
		EXCEPTION WHEN others THEN f := f + 1;
		END;
	END LOOP;
	RAISE NOTICE 'sql_auto % %', extract(epoch FROM clock_timestamp() - t0) * 1000 / n, f;
END
\$\$;
SQL
rm -f "$TMP"
