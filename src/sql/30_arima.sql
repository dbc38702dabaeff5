-- part 30: ARIMA models (exact maximum likelihood, automatic order selection).
-- None is STRICT: a NULL series or horizon is an error, not a NULL result;
-- NULL orders mean "choose automatically".

CREATE TYPE @extschema@.arima_model AS (
	p integer,
	d integer,
	q integer,
	ar double precision[],
	ma double precision[],
	intercept double precision,	-- the mean, for d = 0 (R's "intercept")
	drift double precision,		-- for d = 1
	sigma2 double precision,	-- maximum-likelihood innovation variance
	loglik double precision,
	aic double precision,
	aicc double precision,
	bic double precision,
	nobs integer,				-- n - d
	method text					-- 'ML', or the fall-back used by automatic mode
);
COMMENT ON TYPE @extschema@.arima_model IS
	'A fitted ARIMA(p,d,q) model; information criteria as in R''s forecast package';

CREATE FUNCTION @extschema@.arima_forecast(series double precision[],
										   horizon integer DEFAULT 1,
										   p integer DEFAULT NULL,
										   d integer DEFAULT NULL,
										   q integer DEFAULT NULL)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'pz_arima_forecast'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.arima_forecast(double precision[], integer, integer, integer, integer) IS
	'horizon ARIMA forecasts of series; order chosen automatically (KPSS for d, stepwise AICc) when p and q are NULL';

CREATE FUNCTION @extschema@.arima_forecast_interval(series double precision[],
													horizon integer DEFAULT 1,
													level double precision DEFAULT 0.95,
													p integer DEFAULT NULL,
													d integer DEFAULT NULL,
													q integer DEFAULT NULL)
RETURNS TABLE (step integer, forecast double precision,
			   lower double precision, upper double precision)
AS 'MODULE_PATHNAME', 'pz_arima_forecast_interval'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.arima_forecast_interval(double precision[], integer, double precision, integer, integer, integer) IS
	'ARIMA forecasts with Gaussian prediction intervals at the given level';

CREATE FUNCTION @extschema@.arima_fit(series double precision[], p integer,
									  d integer, q integer)
RETURNS @extschema@.arima_model
AS 'MODULE_PATHNAME', 'pz_arima_fit'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.arima_fit(double precision[], integer, integer, integer) IS
	'Exact maximum-likelihood ARIMA(p,d,q) fit (with a mean when d = 0), like R''s arima(method = "CSS-ML")';

CREATE FUNCTION @extschema@.auto_arima(series double precision[])
RETURNS @extschema@.arima_model
AS 'MODULE_PATHNAME', 'pz_auto_arima'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.auto_arima(double precision[]) IS
	'Automatic ARIMA order selection as forecast::auto.arima(seasonal = FALSE)';

-- The 'arima' model for top_tracks_next_week / backtest / predict: one
-- automatic ARIMA per candidate track (its dense weekly score series),
-- forecasting the week after as_of; a track with a single week of history
-- gets that week's score (the automatic mode's fall-backs).
CREATE FUNCTION pozytywka.forecast_arima(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT c.track_id, (@extschema@.arima_forecast(c.series, 1))[1]
	  FROM pozytywka.candidate_series(as_of) AS c;
$$;

INSERT INTO pozytywka.model_kinds (name, forecast_function, description, family) VALUES
	('arima', 'pozytywka.forecast_arima(date)',
	 'automatic ARIMA per track (KPSS differencing, stepwise AICc, exact ML)', 'statistical');
