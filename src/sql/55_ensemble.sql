-- part 55: the 'ensemble' model — a weighted mean of member models'
-- forecasts on the log scale (geometric mean of 1 + score), over the
-- members available at the origin.  Averaging the log forecasts of models
-- that err differently reduces the variance of the ranking; the log scale
-- keeps one model's large number from dominating.

CREATE TABLE pozytywka.ensemble_members (
	name		text PRIMARY KEY REFERENCES pozytywka.model_kinds ON DELETE CASCADE
		CHECK (name NOT IN ('ensemble')),
	weight		double precision NOT NULL CHECK (weight > '0'::float8 AND weight < '1e6'::float8)
);

CREATE FUNCTION pozytywka.forecast_ensemble(as_of date)
RETURNS TABLE (track_id text, predicted_score double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	RETURN QUERY
	WITH members AS (
		SELECT e.name, e.weight
		  FROM pozytywka.ensemble_members AS e
		 WHERE pozytywka.model_available(e.name, as_of)
	), parts AS (
		SELECT f.track_id, ln(1 + greatest(f.predicted_score, 0)) AS l, m.weight
		  FROM members AS m,
			   LATERAL pozytywka.model_forecasts(m.name, as_of) AS f
	)
	SELECT p.track_id, exp(sum(p.l * p.weight) / sum(p.weight)) - 1
	  FROM parts AS p
	 GROUP BY p.track_id;
END;
$$;

CREATE FUNCTION pozytywka.ensemble_available(as_of date)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
	SELECT count(*) >= 2
	  FROM pozytywka.ensemble_members AS e
	 WHERE pozytywka.model_available(e.name, as_of);
$$;

INSERT INTO pozytywka.model_kinds (name, forecast_function, description, family, available_function) VALUES
	('ensemble', 'pozytywka.forecast_ensemble(date)',
	 'geometric mean of 1 + the member models'' forecasts (pozytywka.ensemble_members: pooled, lstm)',
	 'ensemble', 'pozytywka.ensemble_available(date)');
INSERT INTO pozytywka.ensemble_members VALUES ('pooled', 1), ('lstm', 1);
