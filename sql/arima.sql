-- ARIMA: fits and forecasts against R (stats::arima, forecast::auto.arima;
-- the numbers come from test/fixtures/arima, made by
-- test/fixtures/make_arima_fixtures.R), fall-backs, and bad input.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;
SET extra_float_digits = 0;

CREATE TEMP TABLE classic(name text, s float8[]);
INSERT INTO classic VALUES
('lh', '{2.4,2.4,2.4,2.2,2.1,1.5,2.3,2.3,2.5,2.0,1.9,1.7,2.2,1.8,3.2,3.2,2.7,2.2,2.2,1.9,1.9,1.8,2.7,3.0,2.3,2.0,2.0,2.9,2.9,2.7,2.7,2.3,2.6,2.4,1.8,1.7,1.5,1.4,2.1,3.3,3.5,3.5,3.1,2.6,2.1,3.4,3.0,2.9}'),
('WWWusage', '{88,84,85,85,84,85,83,85,88,89,91,99,104,112,126,138,146,151,150,148,147,149,143,132,131,139,147,150,148,145,140,134,131,131,129,126,126,132,137,140,142,150,159,167,170,171,172,172,174,175,172,172,174,174,169,165,156,142,131,121,112,104,102,99,99,95,88,84,84,87,89,88,85,86,89,91,91,94,101,110,121,135,145,149,156,165,171,175,177,182,193,204,208,210,215,222,228,226,222,220}');

-- R: arima(lh, order = c(1,0,0), method = "ML"):
--   ar1 0.573936980, intercept 2.413264323, sigma^2 0.197489463, loglik -29.379162403
SELECT p, d, q, round(ar[1]::numeric, 4) AS ar1, round(intercept::numeric, 4) AS intercept,
	   round(sigma2::numeric, 4) AS sigma2, round(loglik::numeric, 3) AS loglik,
	   round(aic::numeric, 3) AS aic, nobs, method
  FROM classic, arima_fit(s, 1, 0, 0) WHERE name = 'lh';
SELECT abs(ar[1] - 0.573936980) < 1e-4 AS ar_ok,
	   abs(intercept - 2.413264323) < 1e-4 AS mean_ok,
	   abs(sigma2 - 0.197489463) < 1e-5 AS sigma2_ok,
	   abs(loglik - (-29.379162403)) < 1e-5 AS loglik_ok
  FROM classic, arima_fit(s, 1, 0, 0) WHERE name = 'lh';

-- R: arima(lh, order = c(3,0,0)): ar 0.6448 -0.0634 -0.2198, loglik -27.0924
SELECT abs(ar[1] - 0.644802663) < 1e-3 AND abs(ar[2] + 0.063381956) < 1e-3
	   AND abs(ar[3] + 0.219798400) < 1e-3 AS ar_ok,
	   abs(loglik - (-27.092411060)) < 1e-4 AS loglik_ok
  FROM classic, arima_fit(s, 3, 0, 0) WHERE name = 'lh';
-- predict(arima(lh, order = c(3,0,0)), n.ahead = 3)
SELECT step, abs(forecast - (ARRAY[2.460180940, 2.270841994, 2.198612170])[step]) < 1e-3 AS forecast_ok,
	   abs((upper - lower) / (2 * 1.959963985)
		   - (ARRAY[0.422682266, 0.502933370, 0.524526066])[step]) < 1e-3 AS se_ok
  FROM classic, arima_forecast_interval(s, 3, 0.95, 3, 0, 0) WHERE name = 'lh';

-- forecast::auto.arima(lh, seasonal = FALSE): ARIMA(1,0,0) with non-zero mean, AICc 65.30378
SELECT p, d, q, intercept IS NOT NULL AS has_mean, abs(aicc - 65.303779320) < 1e-4 AS aicc_ok
  FROM classic, auto_arima(s) WHERE name = 'lh';
SELECT round(f::numeric, 3) AS forecast
  FROM classic, unnest(arima_forecast(s, 3)) AS f WHERE name = 'lh';

-- WWWusage: auto.arima picks ARIMA(1,1,1), AICc 514.5521; forecasts 218.8805 218.1524 217.6789
SELECT p, d, q, drift IS NULL AS no_drift, abs(aicc - 514.552103153) < 1e-3 AS aicc_ok,
	   abs(ar[1] - 0.650378075) < 1e-3 AND abs(ma[1] - 0.525588798) < 1e-3 AS coef_ok
  FROM classic, auto_arima(s) WHERE name = 'WWWusage';
SELECT bool_and(abs(f - (ARRAY[218.880505540, 218.152410888, 217.678874091])[i]) < 1e-2) AS forecast_ok
  FROM classic, unnest(arima_forecast(s, 3)) WITH ORDINALITY AS u(f, i) WHERE name = 'WWWusage';
-- explicit order, d chosen by KPSS when NULL
SELECT array_length(arima_forecast(s, 5, 1, NULL, 1), 1) AS n,
	   arima_forecast(s, 2, 1, NULL, 1) = arima_forecast(s, 2, 1, 1, 1) AS same
  FROM classic WHERE name = 'WWWusage';
-- intervals: symmetric, widening, the point forecast in the middle
SELECT bool_and(lower < forecast AND forecast < upper) AS ordered,
	   bool_and(abs((lower + upper) / 2 - forecast) < 1e-9) AS centred
  FROM classic, arima_forecast_interval(s, 10) WHERE name = 'WWWusage';
SELECT (SELECT upper - lower FROM arima_forecast_interval(s, 2, 0.8) WHERE step = 1)
	 < (SELECT upper - lower FROM arima_forecast_interval(s, 2, 0.95) WHERE step = 1) AS wider
  FROM classic WHERE name = 'lh';

-- fall-backs of automatic mode: every series gets a forecast
SELECT arima_forecast('{5,5,5,5,5,5}', 2) AS constant,
	   arima_forecast('{0,0,0,0,0,0,0,0}', 2) AS all_zero,
	   arima_forecast('{7}', 2) AS one_point,
	   arima_forecast('{1,3,5,7,9,11,13,15}', 2) AS linear;
SELECT p, d, q, method FROM auto_arima('{5,5,5,5}');
SELECT array_length(arima_forecast(s, 1), 1) AS n
  FROM (VALUES ('{3,8}'::float8[]), ('{3,8,1}'), ('{4,0,7,1}'), ('{4,0,7,1,3,9,2,2,5}')) v(s);

-- bad input: each an ERROR; shown as SQLSTATE: message
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT pg_temp.err($q$SELECT arima_forecast(NULL)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,NULL,4}')$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,NaN,4}')$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,Infinity,4}')$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{}')$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{{1,2},{3,4}}')$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 1, -1, 0, 0)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 1, 6, 0, 0)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 1, 1, 3, 0)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 1, 1, 0, NULL)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 0)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', 10001)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,2,3,4,5,6,7,8}', NULL)$q$);
SELECT pg_temp.err($q$SELECT * FROM arima_forecast_interval('{1,2,3,4,5,6,7,8}', 1, 1.0)$q$);
SELECT pg_temp.err($q$SELECT * FROM arima_forecast_interval('{1,2,3,4,5,6,7,8}', 1, 0)$q$);
SELECT pg_temp.err($q$SELECT * FROM arima_forecast_interval('{1,2,3,4,5,6,7,8}', 1, NULL)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast('{1,5,2,4}', 1, 2, 1, 2)$q$);
SELECT pg_temp.err($q$SELECT arima_fit('{1,5,2,4,3,3,6}', NULL, 1, 1)$q$);
SELECT pg_temp.err($q$SELECT arima_fit('{2,2,2,2,2,2,2,2,2}', 1, 0, 0)$q$);
SELECT pg_temp.err($q$SELECT auto_arima(NULL)$q$);
SELECT pg_temp.err($q$SELECT arima_forecast(array_fill(1.0::float8, ARRAY[10001]))$q$);

-- declared properties: IMMUTABLE, PARALLEL SAFE, not STRICT (NULL is an error)
SELECT p.oid::regprocedure AS function, provolatile, proparallel, proisstrict
  FROM pg_proc p JOIN pg_depend dp ON dp.objid = p.oid AND dp.deptype = 'e'
  JOIN pg_extension e ON e.oid = dp.refobjid AND e.extname = 'pozytywka'
 WHERE proname IN ('arima_forecast', 'arima_forecast_interval', 'arima_fit', 'auto_arima')
 ORDER BY 1::text;
