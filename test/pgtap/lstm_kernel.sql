-- pozytywka.lstm_kernel: the widest SIMD kernels the LSTM may use.  Every
-- documented value is accepted, anything else refused with the list of
-- valid values; a training run gives the same model with every kernel set
-- up to rounding (the AVX2/AVX-512 kernels fuse multiply-adds).
BEGIN;
SELECT plan(10);

SELECT is(current_setting('pozytywka.lstm_kernel'), 'auto', 'lstm_kernel is auto by default');
SELECT lives_ok($$SET LOCAL pozytywka.lstm_kernel = generic$$, 'SET lstm_kernel = generic');
SELECT lives_ok($$SET LOCAL pozytywka.lstm_kernel = avx2$$, 'SET lstm_kernel = avx2');
SELECT lives_ok($$SET LOCAL pozytywka.lstm_kernel = avx512$$, 'SET lstm_kernel = avx512');
SELECT lives_ok($$SET LOCAL pozytywka.lstm_kernel = auto$$, 'SET lstm_kernel = auto');
SELECT throws_ok($$SET LOCAL pozytywka.lstm_kernel = sse9$$, '22023',
				 'invalid value for parameter "pozytywka.lstm_kernel": "sse9"',
				 'SET lstm_kernel = sse9 is refused');

-- a small deterministic history (as sql/lstm.sql), trained once per kernel
INSERT INTO pozytywka.imported_weekly_stats (track_id, week, plays, likes, skips)
SELECT 't' || lpad(k::text, 3, '0'), date '2024-01-01' + 7 * w,
	   greatest(0, round((k % 17 + 3) * (1.5 + sin(w * 0.4 + k))) * (1 + k % 5))::bigint,
	   greatest(0, round((k % 7) * (1 + cos(w * 0.3 + k))))::bigint,
	   greatest(0, round((k % 3) * (1 + sin(w * 0.2))))::bigint
  FROM generate_series(1, 60) AS k, generate_series(0, 29) AS w
 WHERE w >= k % 10;

CREATE TEMP TABLE trained (kernel text, loss float8, val_loss float8, weights bytea);
CREATE FUNCTION pg_temp.train_with(kernel text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM set_config('pozytywka.lstm_kernel', kernel, true);
	SET LOCAL client_min_messages = warning;
	id := lstm_train(epochs => 3, hidden => 8, seed => 7, activate => 'never');
	INSERT INTO trained
	SELECT kernel, (metrics ->> 'final_train_loss')::float8, (metrics ->> 'best_val_loss')::float8,
		   weights
	  FROM pozytywka.models WHERE model_id = id;
	PERFORM set_config('pozytywka.lstm_kernel', 'auto', true);
END
$$;
SELECT pg_temp.train_with(k) FROM unnest(ARRAY['generic', 'avx2', 'avx512', 'auto']) AS k;

SELECT is((SELECT count(*) FROM trained WHERE loss > 0 AND val_loss > 0), 4::bigint,
		  'a model is trained with each kernel setting');
SELECT cmp_ok((SELECT max(abs(t.loss / g.loss - 1)) FROM trained AS t, trained AS g
				WHERE g.kernel = 'generic'), '<', 1e-9::float8,
			  'final training loss: the same with every kernel up to rounding');
SELECT cmp_ok((SELECT max(abs(t.val_loss / g.val_loss - 1)) FROM trained AS t, trained AS g
				WHERE g.kernel = 'generic'), '<', 1e-9::float8,
			  'best validation loss: the same with every kernel up to rounding');

-- auto takes the widest kernels the CPU has, as the widest cap does
SELECT is((SELECT weights FROM trained WHERE kernel = 'auto'),
		  (SELECT weights FROM trained WHERE kernel = 'avx512'),
		  'auto and avx512 train the same weights, bit for bit');
SELECT diag(format('%s distinct weight vectors from generic, avx2, avx512, auto (1 on a CPU without AVX2)',
				   (SELECT count(DISTINCT weights) FROM trained)));

SELECT * FROM finish();
ROLLBACK;
