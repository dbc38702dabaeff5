-- the weekly job, run again and again
SELECT count(*) FROM refresh_forecasts();
SELECT refresh_top_tracks(50);
