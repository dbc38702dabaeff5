#!/usr/bin/env bash
# Pictures (issue 15, item 4): the installed pozytywka-report writes one
# self-contained HTML page from the database (no external reference, the
# sections #top-list, #forecast, #backtest, #auto-choice, a sparkline per
# listed track, every text from the data escaped); track_sparkline returns
# well-formed standalone SVG for any track id; a dashboard role can make
# the page; headless Chromium (Debian's chromium, installed when missing)
# renders it: a screenshot and the rendered DOM with every element.
set -u
cd "$(dirname "$0")/../.."
. scripts/lib.sh
DB=pz_report
ROLE=pz_report_dash
REPORT=$PZ_PG_BIN/pozytywka-report
# a track id (and name, and artist) that is markup and quotes
EVIL=$'<script>alert(1)</script>&"\'x'
n=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d $DB "$@"; }
tmp=
cleanup() {
	dropdb --if-exists $DB 2>/dev/null
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS $ROLE" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
}
cleanup
tmp=$(mktemp -d /tmp/pz_report.XXXXXX)
chmod 755 "$tmp"
trap cleanup EXIT

# ---- a small demo history, and three tracks that test the escaping
createdb $DB && q -c "CREATE EXTENSION pozytywka" >/dev/null &&
	q -c "SELECT count(*) FROM generate_demo_data(weeks => 20, events_per_week => 15000, tracks => 300,
												  artists => 100, users => 1000)" >/dev/null ||
	{ echo "Bail out! no demo database"; exit 1; }
# the evil track is the most played of the latest complete week: rank 1 of
# the list (persistence or not); 'ctl<U+0001>' has a control character XML
# does not allow; 'silent' is in the catalogue without any event
q -v evil="$EVIL" <<'SQL' >/dev/null
INSERT INTO pozytywka.artists (id, name) VALUES ('evil-artist', :'evil');
INSERT INTO pozytywka.tracks (id, name, id_artist) VALUES (:'evil', :'evil', 'evil-artist'),
	('silent', 'Silent', NULL);
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT 900000000 + g, latest_complete_week() + interval '1 day' + g * interval '1 second', 1, :'evil', 'play'
  FROM generate_series(1, 20000) AS g;
INSERT INTO pozytywka.sessions (session_id, "timestamp", user_id, track_id, event_type)
SELECT 910000000 + g, latest_complete_week() + interval '2 days' + g * interval '1 second', 1, E'ctl\x01id', 'play'
  FROM generate_series(1, 5) AS g;
SELECT merge_events();
SELECT count(*) FROM refresh_forecasts();
SQL
ok $? "demo data (20 weeks, 300 tracks) with a track whose id, name and artist are markup"

# ---- the installed command
cmp -s "$REPORT" src/client/pozytywka-report
ok $? "pozytywka-report is installed beside pozytywka-import ($REPORT)"
start=$(date +%s)
"$REPORT" -d $DB -o "$tmp/page.html" 2>"$tmp/report.err"
rc=$?
[ $rc = 0 ] && [ -s "$tmp/page.html" ]
ok $? "pozytywka-report -d $DB -o page.html: exit $rc, $(wc -c <"$tmp/page.html" 2>/dev/null) bytes in $(($(date +%s) - start)) s"
sed 's/^/#   /' "$tmp/report.err"

# no reference to anything outside the page: no URL, no src/href, no
# url(...) in CSS, no script; inline SVG in HTML needs no namespace URL
! grep -Eiq 'https?:|//[a-z0-9]|src=|href=|url\(|@import|<script|<link|<iframe|<object|<embed' "$tmp/page.html"
ok $? "the page refers to nothing outside itself (no URL, src, href, url(), script, link)"
grep -Eio 'https?:[^"]{0,40}|src=.{0,40}|href=.{0,40}|<script.{0,40}' "$tmp/page.html" | head -5 | sed 's/^/#   found: /'

# the page's structure, read by Python's HTML parser
python3 - "$tmp/page.html" "$EVIL" >"$tmp/structure.out" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
from html.parser import HTMLParser
page = open(sys.argv[1], encoding="utf-8").read()
evil = sys.argv[2]
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.stack, self.rows, self.svgs, self.texts = [], [], 0, [], []
        self.in_top = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "section":
            self.stack.append(a.get("id"))
        if tag == "tr" and "data-rank" in a and "top-list" in self.stack:
            self.rows += 1
        if tag == "svg":
            self.svgs.append((self.stack[-1] if self.stack else None, a.get("class")))
    def handle_endtag(self, tag):
        if tag == "section" and self.stack:
            self.stack.pop()
    def handle_data(self, d):
        self.texts.append(d)
p = P()
p.feed(page)
errors = []
for i in ("top-list", "forecast", "backtest", "auto-choice"):
    if p.ids.count(i) != 1:
        errors.append("id %s occurs %d times" % (i, p.ids.count(i)))
print("rows", p.rows)
spark = sum(1 for s, c in p.svgs if s == "top-list" and c == "sparkline")
fc = sum(1 for s, c in p.svgs if s == "forecast" and c == "forecast")
bt = sum(1 for s, c in p.svgs if s == "backtest" and c == "backtest")
print("sparklines", spark, "forecasts", fc, "backtest", bt)
if p.rows != 50: errors.append("%d rows in #top-list, not 50" % p.rows)
if spark != 50: errors.append("%d sparklines in #top-list, not 50" % spark)
if fc != 10: errors.append("%d forecast charts, not 10" % fc)
if bt != 1: errors.append("%d backtest charts, not 1" % bt)
# every inline SVG is well-formed XML on its own
import re
frags = re.findall(r"<svg\b.*?</svg>", page, re.S)
bad = 0
for f in frags:
    try:
        ET.fromstring(f)
    except ET.ParseError as e:
        bad += 1
        if bad < 3: errors.append("ill-formed svg: %s: %s" % (e, f[:120]))
print("svg fragments", len(frags), "ill-formed", bad)
# the evil track: its id reads back as itself from the text, never as markup
if evil not in "".join(p.texts): errors.append("the evil track id does not read back as text")
if "<script" in page.lower(): errors.append("raw <script in the page")
# the backtest chart has a line per model kind and auto
models = re.findall(r'<polyline class="model"[^>]*><title>([^<]*)</title>', page)
print("backtest lines", ",".join(models))
if "auto" not in models or len(models) < 5: errors.append("backtest lines: %s" % models)
for e in errors: print("ERROR", e)
sys.exit(1 if errors else 0)
PY
rc=$?
sed 's/^/#   /' "$tmp/structure.out"
ok $rc "the page has #top-list (50 rows, 50 sparklines), #forecast (10 charts), #backtest (one line per model and auto), #auto-choice; every inline SVG is well-formed"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;x' "$tmp/page.html" &&
	! grep -q '<script' "$tmp/page.html"
ok $? "a track id, name and artist <script>alert(1)</script>&\"' are escaped (& < > \" ')"
grep -q 'data-rank="1".*&lt;script&gt;' "$tmp/page.html"
ok $? "the escaped track is rank 1 of the list (its name shown, not run)"
# scores rounded for people: no long fractions anywhere in the list
! grep -o '<tr data-rank=.*' "$tmp/page.html" | sed 's/<svg.*<\/svg>//' | grep -Eq '[0-9]\.[0-9]{2,}'
ok $? "the list's scores and intervals are rounded (no number with 2 or more decimals)"
grep -q 'auto picks <b>' "$tmp/page.html"
ok $? "#auto-choice says which model auto picks: $(grep -o 'auto picks <b>[^<]*' "$tmp/page.html" | sed 's/.*<b>//')"

"$REPORT" -d $DB -n 5 >"$tmp/stdout.html" 2>"$tmp/stdout.err"
rc=$?
[ $rc = 0 ] && head -1 "$tmp/stdout.html" | grep -q '^<!DOCTYPE html>' &&
	[ "$(grep -o '<tr data-rank=' "$tmp/stdout.html" | wc -l)" = 5 ]
ok $? "without -o the page (-n 5: 5 rows) goes to standard output"
echo keep >"$tmp/target"
ln -s "$tmp/target" "$tmp/link"
"$REPORT" -d $DB -n 5 -o "$tmp/link" 2>"$tmp/link.err"
rc=$?
[ $rc != 0 ] && [ "$(cat "$tmp/target")" = keep ] && grep -q 'symbolic link' "$tmp/link.err"
ok $? "-o onto a symbolic link is refused (exit $rc) and its target untouched"
# a database of its own (other tests of the suite install the extension in
# postgres on the shared cluster)
dropdb --if-exists pz_report_empty 2>/dev/null
createdb pz_report_empty
out=$("$REPORT" -d pz_report_empty -o "$tmp/none.html" 2>&1)
rc=$?
dropdb --if-exists pz_report_empty 2>/dev/null
[ $rc != 0 ] && [ ! -e "$tmp/none.html" ] && printf '%s' "$out" | grep -q 'not installed'
ok $? "a database without the extension: exit $rc, no file, '$out'"
out=$("$REPORT" -d $DB -n 0 2>&1)
rc=$?
[ $rc = 2 ] && printf '%s' "$out" | grep -q '1 to 1000'
ok $? "-n 0 is refused before connecting: '$out'"

# a look-alike report_html(integer) beside the extension's (anyone who may
# create in its schema can add one): the command still calls the real one
q -c "CREATE FUNCTION public.report_html(integer) RETURNS text LANGUAGE sql AS \$\$ SELECT 'pwned' \$\$" >/dev/null
"$REPORT" -d $DB -n 5 >"$tmp/lookalike.html" 2>"$tmp/lookalike.err"
rc=$?
[ $rc = 0 ] && [ "$(grep -o '<tr data-rank=' "$tmp/lookalike.html" | wc -l)" = 5 ] && ! grep -q pwned "$tmp/lookalike.html"
ok $? "a look-alike public.report_html(integer) is not called (exit $rc)"
sed 's/^/#   /' "$tmp/lookalike.err" | head -3
q -c "DROP FUNCTION public.report_html(integer)" >/dev/null

# ---- a dashboard role makes the page too (read rights only)
psql -X -q -d postgres -c "CREATE ROLE $ROLE LOGIN" && q -c "SELECT grant_dashboard_access('$ROLE')" >/dev/null
"$REPORT" -d $DB -U $ROLE -n 10 -o "$tmp/dash.html" 2>"$tmp/dash.err"
rc=$?
[ $rc = 0 ] && [ "$(grep -o '<tr data-rank=' "$tmp/dash.html" | wc -l)" = 10 ]
ok $? "a role with grant_dashboard_access makes the page (exit $rc)"
sed 's/^/#   /' "$tmp/dash.err" | head -5
[ "$(psql -X -At -U $ROLE -d $DB -c "SELECT length(track_sparkline('silent')) > 0")" = t ]
ok $? "and calls track_sparkline"

# ---- track_sparkline: standalone SVG documents, well-formed for any id
q -v evil="$EVIL" >"$tmp/sparklines.txt" <<'SQL'
SELECT replace(track_sparkline(t.track_id), E'\n', ' ') FROM top_tracks_next_week(50) AS t
UNION ALL SELECT track_sparkline(E'ctl\x01id')
UNION ALL SELECT track_sparkline(:'evil', 24)
UNION ALL SELECT track_sparkline('silent', 2);
SQL
ok $? "track_sparkline for the 50 listed tracks, an id with a control character, the escaped id over 24 weeks, a track without events"
python3 - "$tmp/sparklines.txt" "$EVIL" >"$tmp/spark.out" 2>&1 <<'PY'
import sys, xml.etree.ElementTree as ET
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lines = [l for l in lines if l]
evil = sys.argv[2]
NS = "{http://www.w3.org/2000/svg}"
errors = []
docs = []
for i, l in enumerate(lines):
    try:
        docs.append(ET.fromstring(l))
    except ET.ParseError as e:
        errors.append("line %d: %s" % (i + 1, e))
print("documents", len(lines), "well-formed", len(docs))
if len(lines) != 53: errors.append("%d documents, not 53" % len(lines))
def points(d):
    pl = d.find(NS + "polyline")
    return [tuple(map(float, p.split(","))) for p in pl.get("points").split()] if pl is not None else []
for d in docs:
    if d.tag != NS + "svg" or d.get("role") != "img" or d.find(NS + "title") is None:
        errors.append("not an SVG document with a title: %s" % d.tag)
if len(docs) == 53:
    if any(len(points(d)) != 12 for d in docs[:51]): errors.append("a 12-week sparkline without 12 points")
    if not docs[51].find(NS + "title").text.startswith(evil + ":"): errors.append("the evil title does not read back: %r" % docs[51].find(NS + "title").text)
    if len(points(docs[51])) != 24: errors.append("weeks => 24 gave %d points" % len(points(docs[51])))
    p = points(docs[52])
    if len(p) != 2 or p[0][1] != p[1][1]: errors.append("the silent track is not a flat line of 2 points: %s" % p)
    if "?" not in docs[50].find(NS + "title").text: errors.append("the control character was not replaced")
for e in errors: print("ERROR", e)
sys.exit(1 if errors else 0)
PY
rc=$?
sed 's/^/#   /' "$tmp/spark.out"
ok $rc "every sparkline is a well-formed SVG document (xml.etree): 12 points, the escaped id reads back in its title, weeks => 24 gives 24, no events gives a flat line"
out=$(q -c "SELECT track_sparkline('no such track')" 2>&1)
printf '%s' "$out" | grep -q 'no such track'
ok $? "an unknown track is an error: $(printf '%s' "$out" | head -1)"

# ---- headless Chromium: the page rendered
if pz_install_chromium; then
	url="file://$tmp/page.html"
	cr() { timeout 180 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$tmp/chromium" "$@" 2>>"$tmp/chromium.err"; }
	cr --screenshot="$tmp/page.png" --window-size=1200,2400 "$url" >/dev/null
	python3 - "$tmp/page.png" <<'PY'
import sys, struct
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24])
assert (w, h) == (1200, 2400), (w, h)
assert len(d) > 50000, "only %d bytes: a blank page?" % len(d)
PY
	ok $? "chromium --headless --screenshot renders the page: a 1200x2400 PNG of $(stat -c %s "$tmp/page.png" 2>/dev/null) bytes"
	cr --dump-dom "$url" >"$tmp/dom.html"
	python3 - "$tmp/dom.html" >"$tmp/dom.out" 2>&1 <<'PY'
import sys, re
dom = open(sys.argv[1], encoding="utf-8").read()
errors = []
for i in ("top-list", "forecast", "backtest", "auto-choice"):
    if len(re.findall(r'\bid="%s"' % i, dom)) != 1: errors.append("no #%s" % i)
svgs = len(re.findall(r"<svg\b", dom))
rows = len(re.findall(r"<tr data-rank=", dom))
print("rendered DOM: %d bytes, %d svg, %d list rows" % (len(dom), svgs, rows))
if svgs < 61: errors.append("%d svg elements, fewer than 61" % svgs)
if rows != 50: errors.append("%d rows" % rows)
if "<script" in dom: errors.append("a script element in the rendered DOM")
for e in errors: print("ERROR", e)
sys.exit(1 if errors else 0)
PY
	rc=$?
	sed 's/^/#   /' "$tmp/dom.out"
	ok $rc "chromium --dump-dom: the rendered page has every section, 50 rows and at least 61 svg elements, no script"
	[ -n "${PZ_REPORT_PNG:-}" ] && cp "$tmp/page.png" "$PZ_REPORT_PNG"
else
	skip "chromium cannot be installed here: the page is not rendered"
	skip "chromium cannot be installed here: the rendered DOM is not checked"
fi
echo "1..$n"
