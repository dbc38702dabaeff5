-- The LSTM: PyTorch import/export and parity, the raw network, training in
-- the database, prediction, and bad input (each an ERROR with a SQLSTATE).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS pozytywka CASCADE;
CREATE EXTENSION pozytywka;
RESET client_min_messages;

-- err(query): the SQLSTATE and message of the error a query raises
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION
	WHEN query_canceled THEN
		RETURN SQLSTATE || ': ' || SQLERRM;
	WHEN OTHERS THEN
		RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

-- A 2-layer nn.LSTM(3, 4) + nn.Linear(4, 1) and one window through it, made
-- by test/fixtures/make_lstm_fixtures.py (torch_state_dict.json / .out).
CREATE TEMP TABLE fixture AS
SELECT '{"lstm.weight_ih_l0": [[-0.24627267973261335, 0.27470433175433584, -0.16478176349874785], [0.2199396577107312, 0.37880420079308397, -0.2832331479293875], [-0.11219606603571353, -0.08773676416632625, -0.06400788592674234], [-0.3901438552697807, -0.3689655626025977, -0.17861417927103873], [0.31462056283480233, 0.2204647060461613, 0.12699670916527317], [-0.12253272893063794, 0.36190367619870145, 0.025317563564694057], [0.016962286441360108, 0.34999054775131466, -0.1249282947705096], [0.170329484636638, 0.44314833453775615, 0.1194139550814256], [0.3741713774559092, -0.115939313173546, -0.3528792959142495], [-0.3118187347464103, 0.2852214210774682, 0.12114020593319741], [-0.12551370545345641, -0.43082398162121915, -0.05496708324419708], [-0.045952942661404705, -0.012729984883961265, -0.052225394865735075], [0.1700401109191627, -0.1629150059494423, 0.12447889209037122], [-0.12555740351376987, -0.13900769028983284, 0.3168374804394546], [-0.005845478309877139, 0.3389885945618456, 0.3121223659591901], [0.18019767744742177, 0.40542693831287213, 0.24200527956093165]], "lstm.weight_hh_l0": [[-0.37393667288895427, -0.40817226359736347, 0.26729829335226973, 0.013757201482421322], [-0.34976836533318034, -0.47839542693380177, 0.20242228280273566, -0.39037418447422545], [0.010432657084787134, -0.4664820729179152, -0.3093982286826539, -0.029801477814062505], [-0.24547244962852954, 0.27447304153200036, 0.3690462479598867, 0.2132891227094964], [0.09212211100316503, 0.4267193109468743, -0.23018162340675674, -0.13748926223877622], [0.45607919096313065, 0.305900109548925, 0.21215644311123683, 0.25976108220135996], [-0.3799803957216018, 0.24083932555662413, -0.4836835844217007, -0.35236617467647235], [-0.4250740438059257, -0.15271865802355866, -0.06191677656206851, -0.0109715396256026], [-0.2729433116368355, 0.053902039569375226, 0.3426189191215283, 0.3443411780860711], [0.36243198535258536, -0.3805487094689163, 0.29206199504953967, 0.3033901301358455], [0.02977008231792977, -0.3336308777552791, 0.035334059753665215, 0.24428513818219466], [-0.3071326344804659, -0.32580281618459983, -0.4076241320312808, -0.011686247220874746], [-0.19269405287744867, 0.28423629574212517, 0.27197466680851357, 0.28184111769838005], [0.48835107931372645, 0.2232633812713931, 0.052859697853885446, 0.26975301340061864], [-0.4372308734194347, 0.018465953821691805, 0.06217965298282313, 0.1960816592034169], [0.37256222482408263, 0.08327626527649934, -0.28905109157109976, 0.08693331870937338]], "lstm.bias_ih_l0": [0.05787286068584874, -0.3213793935940944, -0.4884604018468054, -0.45107101289442775, -0.01603588270532552, 0.03722431949289984, -0.26497102254691673, -0.3741169995664958, 0.09428426678015278, -0.02431509777725227, 0.17737334388050108, 0.09093837080144362, -0.03119987906438182, 0.48918434047176484, -0.13789976904986223, 0.09361321275159273], "lstm.bias_hh_l0": [-0.04573100953956277, 0.27130494548412, 0.03642743340646304, -0.2750262120654292, 0.4424536989551776, -0.4212527065711785, -0.14164976913017546, 0.4350672518488945, -0.06863661664442056, -0.3210520061751141, -0.09360669147175249, -0.3061857783286347, -0.23003240173561423, 0.0522338716165025, 0.0008563375779669924, -0.44531398093244323], "lstm.weight_ih_l1": [[-0.32501980422702414, 0.3216366465380146, -0.41602114555290826, 0.04580833841414489], [0.08878558879496823, -0.39231520521575913, 0.38191979234653195, -0.26659558628613456], [0.3685920961346406, 0.18151759525273115, 0.10698140802714773, 0.477206952847846], [-0.30071226509480764, 0.40427908226327625, -0.20409103346044988, 0.29526787646179486], [0.30156849428099364, -0.16482302630003332, -0.07953918287785788, -0.3472057160446024], [0.039701972306952715, 0.2928040107999461, 0.20298449079749037, 0.06336356355310269], [-0.1144241576315943, 0.33810042519337535, 0.1322366672260783, 0.17139487148162047], [-0.12351558299770582, 0.24509589432731582, -0.46268576106630266, -0.10626228447761699], [0.2164070459108529, 0.48966758834483315, 0.43438153243135236, -0.2510427404801615], [-0.27237634571479197, 0.01344162500048074, -0.16970080221653283, 0.4968856993017685], [0.4609524818795214, 0.3728506973807786, 0.4170709493109205, 0.37067728275131395], [-0.09974216768856004, 0.35596289608992515, -0.3377016664667466, 0.42903509489041325], [0.3158102655814624, -0.08950850727805149, 0.4716559930051504, 0.33833953131505634], [0.2659257826303433, -0.32702090388492766, -0.028723047498655063, -0.10247674236090298], [0.26639413288473157, -0.07327666948498746, 0.055855417268448226, 0.2168259546155228], [0.2738691426218338, -0.30959664302792755, -0.3031614216329954, -0.4356302348204615]], "lstm.weight_hh_l1": [[-0.415664783301816, 0.17096163610568715, 0.20243306025653363, -0.3450381876225038], [-0.18896171816012997, -0.42572906722742776, -0.07970414073810972, 0.14087893352289538], [0.1421685514448885, -0.3274420509833935, -0.0565689766799401, 0.3909727241324934], [-0.10431045222489344, 0.1739499657611071, -0.28651963056846486, 0.06632737293651025], [0.1372508587625112, -0.2198713172852833, -0.2056982068295209, 0.30310977830715147], [0.07554384209987985, 0.25574712707781166, 0.3331667092525169, -0.021394985617856355], [-0.05963048307555574, -0.2832744950418834, -0.42306617634139965, 0.3001245022954445], [0.15568271459760485, -0.3473351319714961, 0.25455080043014466, -0.4489643048586347], [-0.07240373790095533, -0.36248884313591934, 0.42725361971693665, -0.16850538530685044], [-0.15979201855036074, -0.3998105684033417, 0.17300288959479615, -0.30754066572366057], [-0.03943201954312903, -0.22087297239542514, -0.365419713477777, 0.27101797804454075], [0.3660880491965255, 0.3239669797285972, 0.3174612118878739, 0.2778116393795288], [-0.028349123117387687, 0.22239928544178755, -0.22626209909531192, 0.008703466207649502], [-0.011774867796316202, 0.2722752331563991, 0.3237781989238976, -0.46402890732008195], [0.2558275107834158, 0.08005761562396807, -0.4081956752780561, 0.19078338175185117], [-0.41833868196317336, 0.13239279551291727, 0.2922955966005132, 0.18219350441951232]], "lstm.bias_ih_l1": [-0.3807048675399036, -0.2495574166506367, -0.3492283634277916, 0.06775799001422866, 0.49154391958940413, -0.25248742277310077, 0.3349930847299163, 0.22043009142638337, -0.4708426828248503, 0.022460223249100464, -0.3527630084654316, 0.3371986326279347, -0.06997221316633151, 0.3356862783628669, -0.49981823625734034, -0.0905596194650301], "lstm.bias_hh_l1": [0.19284990805440183, -0.4876415342524555, -0.4373043096569479, 0.06151088793671433, -0.15863742321433272, 0.442588488225219, 0.485899162625119, 0.06772750823373763, -0.3690435420357492, 0.4555218388037682, 0.02057073860482994, -0.12388650998950967, 0.3327143255263113, -0.35167592586339125, 0.3051091794525981, -0.18702460471630478], "linear.weight": [[0.44644341695896744, -0.08535356293731676, -0.3736651275454809, -0.026258172204818405]], "linear.bias": [0.17931964942199508]}'::jsonb AS state_dict,
       '{"input": [[0.1858787724566273, -1.1447826922925879, -0.8722128343661711], [-0.980980077482555, -2.2663337900980753, -0.2441753485045391], [0.968691372552405, 0.2294092349850764, -1.0958815220528215], [-0.9729533623097296, -1.183932739217798, 0.6042996746806925], [-0.35970019357628263, 0.4378552387619066, 1.8135336668065174]], "output": 0.04854098741450738}'::jsonb AS io;

SELECT lstm_import(state_dict) AS torch_id FROM fixture \gset
SELECT kind, is_active, hyperparams FROM pozytywka.models WHERE model_id = :torch_id;

-- same output as torch.nn.LSTM + Linear (to 1e-10; the C unit test checks 1e-16)
SELECT abs(lstm_forward(:torch_id,
		   (SELECT array_agg(ARRAY(SELECT jsonb_array_elements_text(r)::float8))
			  FROM jsonb_array_elements(io -> 'input') AS r))
		   - (io ->> 'output')::float8) < 1e-10 AS parity_with_torch
  FROM fixture;

-- export gives back exactly the imported state_dict (plus metadata) ...
SELECT lstm_export(:torch_id) - 'metadata' = state_dict AS export_is_exact FROM fixture;
SELECT jsonb_object_keys(lstm_export(:torch_id)) AS key ORDER BY 1;
SELECT lstm_export(:torch_id) -> 'metadata' ->> 'format' AS format;
-- ... and importing the export gives the same weights
SELECT lstm_import(lstm_export(:torch_id)) AS again_id \gset
SELECT a.weights = b.weights AS same_weights
  FROM pozytywka.models AS a, pozytywka.models AS b
 WHERE a.model_id = :torch_id AND b.model_id = :again_id;

-- a 1-feature network takes a plain series as input too
SELECT lstm_import('{"lstm.weight_ih_l0": [[0.5], [0.1], [-0.3], [0.2]],
					 "lstm.weight_hh_l0": [[0.1], [0.2], [0.3], [0.4]],
					 "lstm.bias_ih_l0": [0, 0.1, 0, 0], "lstm.bias_hh_l0": [0, 0, 0.1, 0],
					 "linear.weight": [[2.0]], "linear.bias": [0.5],
					 "metadata": {"window": 3, "trained_through": "2024-01-01"}}') AS tiny_id \gset
SELECT round(lstm_forward(:tiny_id, ARRAY[1, 2, 3]::float8[])::numeric, 12) AS series_input,
	   round(lstm_forward(:tiny_id, ARRAY[[1], [2], [3]]::float8[])::numeric, 12) AS matrix_input;
SELECT trained_through, hyperparams ->> 'window' AS window FROM pozytywka.models WHERE model_id = :tiny_id;

-- bad import JSON
SELECT pg_temp.err($$SELECT lstm_import(NULL)$$);
SELECT pg_temp.err($$SELECT lstm_import('[1, 2]')$$);
SELECT pg_temp.err($$SELECT lstm_import('{}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1, 2], [3, 4], [5, 6]]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3], "linear.weight": [[1]], "linear.bias": [0]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, "4"], "linear.weight": [[1]], "linear.bias": [0]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1, 2], [2, 3], [3, 4], [4, 5]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, 4], "linear.weight": [[1]], "linear.bias": [0]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, 4], "linear.weight": [[1]], "linear.bias": [0],
	"lstm.weight_ih_l0_reverse": [[1], [2], [3], [4]]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, 4], "linear.weight": [[1]], "linear.bias": [1e400]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, 4], "linear.weight": [[1]], "linear.bias": [0],
	"metadata": [1]}')$$);
SELECT pg_temp.err($$SELECT lstm_import('{"lstm.weight_ih_l0": [[1], [2], [3], [4]], "lstm.weight_hh_l0": [[1], [2], [3], [4]],
	"lstm.bias_ih_l0": [1, 2, 3, 4], "lstm.bias_hh_l0": [1, 2, 3, 4], "linear.weight": [[1]], "linear.bias": [0],
	"metadata": {"trained_through": "last week"}}')$$);
-- absurd sizes are refused before anything is allocated: input size 5000
SELECT pg_temp.err(format($$SELECT lstm_import('{"lstm.weight_ih_l0": %s}')$$,
	array_to_json(array_fill(0, ARRAY[4, 5000]))));

-- bad forward input and unknown models
SELECT pg_temp.err($$SELECT lstm_forward(424242, ARRAY[1]::float8[])$$);
SELECT pg_temp.err($$SELECT lstm_forward(NULL, ARRAY[1]::float8[])$$);
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, NULL)$$, :torch_id));
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, ARRAY[[1, 2], [3, 4]]::float8[])$$, :torch_id));
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, ARRAY[[1, 2, NULL]]::float8[])$$, :torch_id));
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, ARRAY[[1, 2, 'NaN']]::float8[])$$, :torch_id));
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, '{}'::float8[])$$, :torch_id));
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, ARRAY[[[1, 2, 3]]]::float8[])$$, :torch_id));
SELECT pg_temp.err($$SELECT lstm_export(424242)$$);
SELECT pg_temp.err($$SELECT lstm_activate(424242)$$);

-- corrupt weights in the registry: flipped byte, truncated, other version
UPDATE pozytywka.models SET weights = set_byte(weights, 60, get_byte(weights, 60) # 16)
 WHERE model_id = :again_id;
SELECT pg_temp.err(format($$SELECT lstm_forward(%s, ARRAY[[1, 2, 3]]::float8[])$$, :again_id));
SELECT pg_temp.err(format($$SELECT lstm_activate(%s)$$, :again_id));
UPDATE pozytywka.models SET weights = substr(weights, 1, 100) WHERE model_id = :again_id;
SELECT pg_temp.err(format($$SELECT lstm_export(%s)$$, :again_id));
UPDATE pozytywka.models SET weights = '\x00'::bytea WHERE model_id = :again_id;
SELECT pg_temp.err(format($$SELECT lstm_export(%s)$$, :again_id));
DELETE FROM pozytywka.models WHERE model_id = :again_id;

-- no data, no active model
SELECT pg_temp.err($$SELECT lstm_predict('t001')$$);
SELECT pg_temp.err($$SELECT lstm_train()$$);

-- a deterministic weekly history: 120 tracks, up to 40 weeks each
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
SELECT 't' || lpad(k::text, 3, '0'), date '2024-01-01' + 7 * w,
	   greatest(0, round((k % 17 + 3) * (1.5 + sin(w * 0.4 + k))) * (1 + k % 5))::bigint,
	   greatest(0, round((k % 7) * (1 + cos(w * 0.3 + k))))::bigint,
	   greatest(0, round((k % 3) * (1 + sin(w * 0.2))))::bigint
  FROM generate_series(1, 120) AS k, generate_series(0, 39) AS w
 WHERE w >= k % 10;

-- an imported network without pozytywka's normalisation cannot serve lstm_predict
SELECT lstm_activate(:tiny_id);
SELECT pg_temp.err($$SELECT lstm_predict('t001')$$);

-- absurd hyper-parameters
SELECT pg_temp.err($$SELECT lstm_train(hidden => 0)$$);
SELECT pg_temp.err($$SELECT lstm_train(hidden => 1000000)$$);
SELECT pg_temp.err($$SELECT lstm_train(window_weeks => 0)$$);
SELECT pg_temp.err($$SELECT lstm_train(epochs => -1)$$);
SELECT pg_temp.err($$SELECT lstm_train(learning_rate => 'NaN')$$);
SELECT pg_temp.err($$SELECT lstm_train(learning_rate => 0)$$);
SELECT pg_temp.err($$SELECT lstm_train(dropout => 1)$$);
SELECT pg_temp.err($$SELECT lstm_train(batch_size => 0)$$);
SELECT pg_temp.err($$SELECT lstm_train(layers => 100)$$);
SELECT pg_temp.err($$SELECT lstm_train(activate => 'sometimes')$$);
SELECT pg_temp.err($$SELECT lstm_train(seed => NULL)$$);
SELECT pg_temp.err($$SELECT lstm_train(as_of => '1999-01-01')$$);
SELECT pg_temp.err($$SELECT lstm_train(as_of => '2024-01-01')$$);
SELECT pg_temp.err($$SELECT lstm_train(validation_weeks => 100)$$);

-- training: stored, activated (the imported tiny network is not comparable),
-- reproducible for a seed
SET client_min_messages = warning;
SELECT lstm_train(epochs => 4, hidden => 8, seed => 1) AS m1 \gset
SELECT lstm_train(epochs => 4, hidden => 8, seed => 1, activate => 'never') AS m2 \gset
RESET client_min_messages;
SELECT model_id = :m1 AS trained_model_is_active, trained_through,
	   hyperparams ->> 'hidden' AS hidden, normalisation ->> 'window' AS window,
	   jsonb_array_length(normalisation -> 'features') AS n_features,
	   (metrics ->> 'epochs_run')::int AS epochs_run,
	   (metrics ->> 'train_windows')::int AS train_windows,
	   (metrics ->> 'validation_windows')::int AS validation_windows,
	   (metrics ->> 'val_overlap_at_50')::float8 BETWEEN 0 AND 1 AS overlap_recorded
  FROM pozytywka.models WHERE kind = 'lstm' AND is_active;
SELECT a.weights = b.weights AS same_seed_same_weights, b.is_active AS second_active
  FROM pozytywka.models AS a, pozytywka.models AS b
 WHERE a.model_id = :m1 AND b.model_id = :m2;
-- the same data and seed are not better than the active model: not activated
SET client_min_messages = warning;
SELECT lstm_train(epochs => 4, hidden => 8, seed => 1) AS m3 \gset
RESET client_min_messages;
SELECT is_active FROM pozytywka.models WHERE model_id = :m3;

-- prediction
SELECT lstm_predict('t005') >= 0 AS finite_score, lstm_predict('t005') = lstm_predict('t005', :m1) AS active_is_default;
SELECT count(*) AS tracks, bool_and(predicted_score >= 0) AS all_scores_ok FROM lstm_predict_all();
SELECT p.predicted_score = lstm_predict(p.track_id) AS batch_equals_single
  FROM lstm_predict_all() AS p WHERE p.track_id = 't042';
SELECT count(*) AS rows, min(model) AS model FROM top_tracks_next_week(10, 'lstm');
-- 0.2.0: a network trained on data up to the latest week never forecast the
-- weeks before it out of sample, so its interval and p_top come from the
-- pooled model's backtest
SELECT count(p_top) AS rows_with_p_top, bool_and(lower <= upper) AS ordered,
	   (SELECT c.model FROM pozytywka.model_calibration('lstm', 10, latest_complete_week()) AS c)
		   AS calibrated_by
  FROM top_tracks_next_week(10, 'lstm');
-- activation cached the candidates' input windows; predictions from them
-- equal predictions from the weekly rows
SELECT as_of, window_weeks, cardinality(track_ids) AS tracks,
	   array_dims(windows) AS windows FROM pozytywka.lstm_inputs;
CREATE TEMP TABLE from_cached_inputs AS SELECT * FROM lstm_predict_all();
BEGIN;
DELETE FROM pozytywka.lstm_inputs;
SELECT count(*) AS differences FROM (
	(SELECT * FROM from_cached_inputs EXCEPT SELECT * FROM lstm_predict_all())
	UNION ALL
	(SELECT * FROM lstm_predict_all() EXCEPT SELECT * FROM from_cached_inputs)) AS d;
ROLLBACK;
-- cached lstm forecasts are dropped when another model is activated, the
-- inputs when the history or the catalogue change
SELECT count(*) AS lstm_runs FROM refresh_forecasts(NULL, ARRAY['lstm']);
SELECT lstm_activate(:m2);
SELECT count(*) AS lstm_runs_after_activation FROM pozytywka.forecast_runs WHERE model = 'lstm';
SELECT lstm_activate(:m1);
SELECT count(*) AS lstm_runs, bool_and(cached) AS computed FROM refresh_forecasts(NULL, ARRAY['lstm']);
SELECT count(*) AS inputs FROM pozytywka.lstm_inputs;
BEGIN;
INSERT INTO pozytywka.tracks (id, name, release_date) VALUES ('t001', 'One', '2024-01-01');
SELECT (SELECT count(*) FROM pozytywka.lstm_inputs) AS inputs_after_catalogue_change,
	   (SELECT count(*) FROM pozytywka.forecast_runs WHERE model = 'lstm') AS lstm_runs;
ROLLBACK;
BEGIN;
UPDATE pozytywka.imported_weekly_stats SET plays = plays + 1 WHERE track_id = 't001' AND week = '2024-09-30';
SELECT count(*) AS inputs_after_history_change FROM pozytywka.lstm_inputs;
ROLLBACK;
SELECT pg_temp.err($$SELECT lstm_predict('no-such-track')$$);
SELECT pg_temp.err($$SELECT lstm_predict(NULL)$$);
SELECT pg_temp.err(format($$SELECT lstm_predict('t005', %s)$$, :m2));
SELECT pg_temp.err($$SELECT lstm_predict('t005', 424242)$$);
-- a young track (2 weeks of history, window 8) is predicted from zero-padded weeks
INSERT INTO pozytywka.imported_weekly_stats VALUES ('young', '2024-09-23', 50, 5, 1), ('young', '2024-09-30', 80, 9, 2);
SELECT lstm_predict('young') > 0 AS young_track_predicted;
-- corrupt active weights: an error, not a crash
UPDATE pozytywka.models SET weights = set_byte(weights, 100, get_byte(weights, 100) # 1) WHERE model_id = :m1;
SELECT pg_temp.err($$SELECT lstm_predict('t005')$$);

-- training stops promptly on statement_timeout (and on cancel)
-- (whether an epoch ends before the timeout depends on the machine: no
-- NOTICEs here)
SET client_min_messages = warning;
SET statement_timeout = '300ms';
SELECT pg_temp.err($$SELECT lstm_train(epochs => 100000, hidden => 64, activate => 'never')$$);
RESET statement_timeout;
RESET client_min_messages;
SELECT count(*) AS models_left_by_the_cancelled_run FROM pozytywka.models WHERE model_id > :m3;

-- the model kind: available only from weeks the active model has not seen
SELECT lstm_activate(:m2);
SELECT pozytywka.lstm_available('2024-09-30') AS from_last_week,
	   pozytywka.lstm_available('2024-09-23') AS from_an_earlier_week;
-- the weekly job retrains the active model with its hyper-parameters
SET client_min_messages = warning;
SELECT r ->> 'previous_model_id' = :'m2' AS retrained_from_active,
	   (r ->> 'model_id')::bigint > :m3 AS new_model
  FROM pozytywka.weekly_retrain() AS r;
RESET client_min_messages;
