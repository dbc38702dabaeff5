#!/usr/bin/env bash
# Does model 'auto' generalise to chart-like weekly data it was not tuned on?
# For each scenario of bench/charts/chart_data.sql (a synthetic weekly top-K
# chart, loaded as weekly counts only into pozytywka.imported_weekly_stats)
# and each seed: a fresh database, the data, a sanity line (rows, tracks,
# week-to-week top-50 persistence), then backtest_summary(50, 8, model) for
# every model, timed server-side (psql \timing, as pz_timed); finally
# "auto - best baseline" per scenario/seed (best baseline = the best mean
# overlap among naive, mean4, mean8, ewma, trend) and the per-origin choices
# of auto (pozytywka.auto_choice).  Writes bench/charts_accuracy.md.
#
# Usage: bash bench/charts_accuracy.sh [--scenarios="stable volatile holiday small"]
#                                      [--seeds="1 2"] [--models="..."] [--out=FILE]
# PZ_NO_INSTALL=1 uses the installed extension (no apt-get, no make install).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

SCENARIOS="stable volatile holiday small"
SEEDS="1 2"
MODELS="naive mean4 mean8 ewma trend pooled arima auto"
BASELINES="naive mean4 mean8 ewma trend"
OUT=bench/charts_accuracy.md
for arg in "$@"; do
	case $arg in
		--scenarios=*) SCENARIOS=${arg#*=} ;;
		--seeds=*) SEEDS=${arg#*=} ;;
		--models=*) MODELS=${arg#*=} ;;
		--out=*) OUT=${arg#*=} ;;
		*) echo "usage: $0 [--scenarios=\"...\"] [--seeds=\"...\"] [--models=\"...\"] [--out=FILE]" >&2; exit 2 ;;
	esac
done

if [ "${PZ_NO_INSTALL:-0}" != 1 ]; then
	pz_install_deps || exit 1
	pz_build_install || exit 1
fi
pz_cluster_start || exit 1
trap pz_cluster_stop EXIT

TMP=$(mktemp -d /tmp/pz-charts.XXXXXX)
trap 'pz_cluster_stop; rm -rf "$TMP"' EXIT
RESULTS=$TMP/results.tsv	# scenario seed model mean min weeks seconds
SANITY=$TMP/sanity.tsv
CHOICES=$TMP/choices.tsv
: >"$RESULTS"; : >"$SANITY"; : >"$CHOICES"

sql() { psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

# backtest_summary of one model: "mean<TAB>min<TAB>weeks<TAB>seconds"
# (seconds = the statement's server-side run time, as pz_timed reports it)
timed_summary() {
	local out row ms
	out=$(psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$DB" -c '\timing on' \
		-c "SELECT round(mean_overlap::numeric, 3), round(min_overlap::numeric, 2), weeks_tested
			  FROM backtest_summary(50, 8, '$1')" 2>&1) || { printf 'n/a\tn/a\t0\tn/a'; return; }
	row=$(echo "$out" | grep -v '^Time: ' | head -1)
	ms=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
	[ -n "$row" ] || row=$'n/a\tn/a\t0'
	printf '%s\t%.3f' "$row" "$(awk -v ms="${ms:-0}" 'BEGIN { print ms / 1000 }')"
}

# rows, tracks, weeks, naive top-50 persistence (all weeks / the 8 backtest
# weeks), top-1 / bottom-of-chart score ratio, median plays of no. 1 and of the last rank
SANITY_SQL="
WITH r AS (
	SELECT track_id, week, plays, plays + 0.8 * likes - 0.5 * skips AS s,
		   row_number() OVER (PARTITION BY week ORDER BY plays + 0.8 * likes - 0.5 * skips DESC, track_id) AS rk,
		   count(*) OVER (PARTITION BY week) AS k
	  FROM pozytywka.imported_weekly_stats),
top AS (SELECT * FROM r WHERE rk <= 50),
pers AS (
	SELECT a.week, count(b.track_id) / 50.0 AS p
	  FROM top AS a LEFT JOIN top AS b ON b.track_id = a.track_id AND b.week = a.week - 7
	 WHERE a.week > (SELECT min(week) FROM r)
	 GROUP BY a.week),
ratio AS (
	SELECT week, max(s) FILTER (WHERE rk = 1) / nullif(max(s) FILTER (WHERE rk = k), 0) AS q,
		   max(plays) FILTER (WHERE rk = 1) AS p1, max(plays) FILTER (WHERE rk = k) AS pk
	  FROM r GROUP BY week)
SELECT (SELECT count(*) FROM r), (SELECT count(DISTINCT track_id) FROM r), (SELECT count(DISTINCT week) FROM r),
	   (SELECT max(k) FROM r),
	   (SELECT round(avg(p), 3) FROM pers),
	   (SELECT round(avg(p), 3) FROM pers WHERE week > (SELECT max(week) - 56 FROM r)),
	   (SELECT round(avg(q)::numeric, 1) FROM ratio),
	   (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY p1) FROM ratio),
	   (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY pk) FROM ratio),
	   (SELECT min(week) FROM r) || '..' || (SELECT max(week) FROM r)"

printf '%-9s %4s %-7s %8s %8s %6s %8s\n' scenario seed model mean min weeks seconds
for scn in $SCENARIOS; do
	for seed in $SEEDS; do
		DB=charts_${scn}_${seed}
		dropdb --if-exists "$DB" 2>/dev/null; createdb "$DB" && sql "CREATE EXTENSION pozytywka" || exit 1
		t0=$(date +%s.%N)
		psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -v scenario="$scn" -v seed="$seed" \
			-f bench/charts/chart_data.sql >/dev/null || { echo "loading $scn/$seed failed" >&2; exit 1; }
		t1=$(date +%s.%N)
		s=$(sql "$SANITY_SQL")
		printf '%s\t%s\t%s\t%.1f\n' "$scn" "$seed" "$s" "$(echo "$t1 - $t0" | bc)" >>"$SANITY"
		echo "$s" | awk -F'\t' -v scn="$scn" -v seed="$seed" '{
			printf "== %s/%s: %s rows, %s tracks, %s weeks (%s), top %s; naive top-50 persistence %s (backtest weeks %s); no.1/last %s\n",
				scn, seed, $1, $2, $3, $10, $4, $5, $6, $7 }' >&2
		for m in $MODELS; do
			r=$(timed_summary "$m")
			printf '%s\t%s\t%s\t%s\n' "$scn" "$seed" "$m" "$r" >>"$RESULTS"
			echo "$r" | awk -F'\t' -v scn="$scn" -v seed="$seed" -v m="$m" \
				'{ printf "%-9s %4s %-7s %8s %8s %6s %8s\n", scn, seed, m, $1, $2, $3, $4 }'
		done
		sql "SELECT '$scn', '$seed', c.as_of + 7, c.model,
					(SELECT string_agg(e.key || ' ' || round(e.value::numeric, 3), ', ' ORDER BY e.value::numeric DESC, e.key)
					   FROM jsonb_each_text(c.scores) AS e WHERE e.value ~ '^[0-9.eE+-]+$')
			   FROM pozytywka.auto_choice AS c ORDER BY c.as_of" >>"$CHOICES" 2>/dev/null
		dropdb "$DB"
	done
done

# auto - best baseline
DIFFS=$(awk -F'\t' -v bl="$BASELINES" '
	BEGIN { n = split(bl, b, " "); for (i = 1; i <= n; i++) isbl[b[i]] = 1 }
	{ key = $1 "\t" $2; if (!(key in seen)) { seen[key] = 1; order[++k] = key }
	  if (($3 in isbl) && $4 != "n/a" && (!(key in best) || $4 + 0 > best[key] + 0)) { best[key] = $4; bestm[key] = $3 }
	  if ($3 == "auto") autov[key] = $4 }
	END { for (i = 1; i <= k; i++) { split(order[i], kk, "\t")
		  if ((order[i] in autov) && (order[i] in best) && autov[order[i]] != "n/a")
			printf "%s\t%s\t%+.3f\t%s\t%s\t%s\n", kk[1], kk[2], autov[order[i]] - best[order[i]], autov[order[i]], bestm[order[i]], best[order[i]] } }' "$RESULTS")
echo
echo "$DIFFS" | awk -F'\t' 'NF { printf "%s/%s: auto − best baseline = %s (auto %s, best baseline %s %s)\n", $1, $2, $3, $4, $5, $6 }'

# ---------------------------------------------------------------- markdown
{
	echo "# overlap@50 on chart-like weekly data (bench/charts_accuracy.sh)"
	echo
	echo "Made by \`PZ_NO_INSTALL=1 bash bench/charts_accuracy.sh\` on this $(nproc)-core machine ($(date -u +%Y-%m-%d)), with the"
	echo "pozytywka build installed in the system PostgreSQL 15. Each scenario and seed is loaded into a fresh"
	echo "database as weekly counts only (\`pozytywka.imported_weekly_stats\`, no events, no catalogue), then"
	echo "\`backtest_summary(50, 8, model)\` runs for every model in the order of the table; seconds = server-side time"
	echo "of that call (forecasts are cached, so \`auto\` reuses what the models before it computed)."
	echo
	echo "## The data"
	echo
	cat <<'EOF'
`bench/charts/chart_data.sql` (psql `-v scenario=… -v seed=…`, plain SQL/plpgsql, deterministic for a
seed) simulates a weekly streaming chart rather than a service's event log. Every track has a latent
weekly stream level: singles debut at or near their peak (the debut week is often partial, as for a
Friday release) and decay geometrically at a track-specific rate (hits slowly, settling on a catalogue
floor; ordinary singles faster); album drops put 8–15 tracks of one artist into the chart in the same
week, high, with the filler falling back within two or three weeks (drops are more frequent in the
autumn release season, rare around new year); slow-burners climb for 3–10 weeks before they peak;
evergreens (catalogue from before the data start) drift slowly with a yearly cycle; holiday songs
climb from mid-November, peak in Christmas week and are gone by mid-January, every year.
Levels are heavy-tailed but bounded (no. 1 ≈ 5–7× the last chart position), noise is
multiplicative (a persistent part, a moving average of three weekly shocks, and a week-only part),
counts are Poisson, likes and skips small track-specific fractions of plays. Tracks debut during a
40-week burn-in, so the first published week holds a mix of ages. Then the chart is **truncated**:
only the top K tracks of each week (by the extension's score) get a row; a track below the cut has
no row that week and comes back if it climbs back. Scenarios: `stable` (few debuts, long-lived hits,
70 weeks), `volatile` (many debuts, an album drop most weeks, frequent slow-burners, noisier),
`holiday` (130 weeks ending 2026-01-19, so the 8 backtest weeks run from December into January and
two earlier Decembers are in the history), `small` (a small service: K = 100, counts in the single
and low double digits, Poisson noise dominates).

How it differs from the demo generator (`generate_demo_data`, `src/core/demogen.c`): the demo
simulates a fixed catalogue of 5,000 tracks, each with a long-run base level that it keeps for the
whole year, releases and viral jumps as temporary multiplicative bumps on top of that base
(jumps revert within a week or two), and raw events for every track every week — so every series is
dense and mean-reverting towards a known level. Chart data has no base to revert to: tracks are born,
peak and fade away (a large part of the top 50 is only weeks old), the weekly history of a track is cut off
below the chart's bottom (no row instead of a small count, which the extension reads as 0), album
drops and holiday songs are large coordinated shocks, and nothing of the data (sizes, rates, noise)
was tuned to the extension's models.
EOF
	echo
	echo "## Sanity of the data"
	echo
	echo "persistence = share of a week's top 50 that was in the previous week's top 50 (= what \`naive\` scores with a perfect memory), over all weeks / over the 8 backtest weeks; no. 1 / last = mean ratio of the scores of chart positions 1 and K."
	echo
	echo "| scenario | seed | weeks | rows | distinct tracks | K | persistence (all) | persistence (backtest weeks) | no. 1 / last | median plays no. 1 | median plays last | load s |"
	echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk -F'\t' '{ printf "| %s | %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $5, $12, $3, $4, $6, $7, $8, $9, $10, $11, $13 }' "$SANITY"
	echo
	echo "## overlap@50, 8 backtest weeks"
	echo
	echo "| scenario | seed | model | mean overlap@50 | min overlap@50 | weeks | seconds |"
	echo "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
	awk -F'\t' '{ m = ($3 == "auto") ? "**auto**" : $3; printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, m, $4, $5, $6, $7 }' "$RESULTS"
	echo
	echo "## auto − best baseline (naive, mean4, mean8, ewma, trend)"
	echo
	echo "| scenario | seed | auto − best baseline | auto | best baseline |"
	echo "| --- | ---: | ---: | ---: | --- |"
	echo "$DIFFS" | awk -F'\t' 'NF { printf "| %s | %s | **%s** | %s | %s %s |\n", $1, $2, $3, $4, $5, $6 }'
	echo
	echo "## What auto chose (pozytywka.auto_choice)"
	echo
	echo "For each backtest week: the model chosen at the origin (the week before), and the scores of the 4-week rolling backtest behind the choice."
	echo
	echo "| scenario | seed | target week | chosen | scores |"
	echo "| --- | ---: | --- | --- | --- |"
	awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$CHOICES"
} >"$OUT"
echo "(written: $OUT)" >&2
