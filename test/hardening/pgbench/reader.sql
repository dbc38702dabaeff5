-- a dashboard: the top list (a cached model, the automatic choice) and predict
SELECT count(*) FROM top_tracks_next_week(50, 'naive');
SELECT count(*) FROM top_tracks_next_week(20);
SELECT predict('{"model_type": "mean4", "n": 20}');
