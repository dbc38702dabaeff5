/*
 * test_import_line.c — unit tests of the importer's line parser
 * (src/core/import_line.c): typed events, every reject reason, the limits.
 */
#include "import_line.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

static char scratch[4096];
static char reason[PZ_REASON_SIZE];

/* parse a NUL-terminated line as a sessions.jsonl line */
static pz_line_status
ev_of(const char *line, pz_event *ev)
{
	return pz_parse_event(line, strlen(line), ev, scratch, reason);
}

/* the line is rejected with a reason containing frag */
static void
rejects(const char *line, size_t len, const char *frag, const char *name)
{
	pz_event	ev;
	pz_line_status st = pz_parse_event(line, len, &ev, scratch, reason);

	tap_ok(st == PZ_LINE_REJECT && strstr(reason, frag) != NULL, "%s (reason: %s)", name, reason);
}

static void
rejects_s(const char *line, const char *frag, const char *name)
{
	rejects(line, strlen(line), frag, name);
}

static int64_t
usec(const char *ts)
{
	int64_t		u = -1;

	if (!pz_parse_timestamp(ts, strlen(ts), &u))
		return INT64_MIN;
	return u;
}

int
main(void)
{
	pz_event	ev;
	char		out[256];

	/* ---- a good event, typed */
	tap_ok(ev_of("{\"session_id\": 124, \"timestamp\": \"2023-10-25T10:13:55.258944\", \"user_id\": 601, "
				 "\"track_id\": \"T1\", \"event_type\": \"play\"}", &ev) == PZ_LINE_OK,
		   "a plain event parses");
	tap_ok(ev.session_id == 124 && ev.has_user && ev.user_id == 601 && ev.has_track &&
		   ev.track_len == 2 && memcmp(ev.track_id, "T1", 2) == 0 && ev.event_type == PZ_EV_PLAY,
		   "its fields");
	/* 2023-10-25 is day 8698 after 2000-01-01 */
	tap_ok(ev.ts_usec == ((int64_t) 8698 * 86400 + 10 * 3600 + 13 * 60 + 55) * 1000000 + 258944,
		   "timestamp in microseconds since 2000-01-01");
	tap_ok(usec("2000-01-01T00:00:00") == 0, "the epoch is 0");
	tap_ok(usec("1999-12-31 23:59:59.5") == -500000, "before the epoch, space separator, 1 digit");
	tap_ok(usec("2024-02-29T00:00:00") != INT64_MIN, "29 February of a leap year");
	tap_ok(usec("2023-02-29T00:00:00") == INT64_MIN, "29 February of a common year is refused");
	tap_ok(usec("1900-02-29T00:00:00") == INT64_MIN && usec("2000-02-29T00:00:00") != INT64_MIN,
		   "century rule");
	tap_ok(usec("2023-02-30T00:00:00") == INT64_MIN && usec("2023-13-01T00:00:00") == INT64_MIN &&
		   usec("2023-01-01T24:00:00") == INT64_MIN && usec("2023-01-01T00:60:00") == INT64_MIN &&
		   usec("0999-01-01T00:00:00") == INT64_MIN && usec("2023-01-01T00:00:00.") == INT64_MIN &&
		   usec("2023-01-01T00:00:00.1234567") == INT64_MIN && usec("2023-01-01") == INT64_MIN,
		   "impossible or malformed timestamps are refused");

	/* ---- normalisation and nulls */
	tap_ok(ev_of("{\"session_id\":1,\"timestamp\":\"2024-01-01T00:00:00\",\"event_type\":\" ADVERTISMENT \"}", &ev)
		   == PZ_LINE_OK && ev.event_type == PZ_EV_ADVERTISEMENT && !ev.has_user && !ev.has_track,
		   "'advertisment' in any case and blanks; missing user and track are null");
	tap_ok(ev_of("{\"session_id\":1,\"timestamp\":\"2024-01-01T00:00:00\",\"user_id\":null,\"track_id\":null,\"event_type\":\"Buy_Premium\"}", &ev)
		   == PZ_LINE_OK && ev.event_type == PZ_EV_BUY_PREMIUM && !ev.has_user && !ev.has_track,
		   "explicit nulls; mixed case");
	tap_ok(ev_of("{\"session_id\":1,\"timestamp\":\"2024-01-01T00:00:00\",\"track_id\":\"Pozna\\u0144 \\ud83c\\udfb5 \\\"x\\\\\",\"event_type\":\"like\"}", &ev)
		   == PZ_LINE_OK && ev.track_len == strlen("Poznań 🎵 \"x\\") &&
		   memcmp(ev.track_id, "Poznań 🎵 \"x\\", ev.track_len) == 0,
		   "\\u escapes, a surrogate pair, quote and backslash escapes are decoded");
	tap_ok(ev_of("{\"session_id\":1,\"session_id\":2,\"timestamp\":\"2024-01-01T00:00:00\",\"event_type\":\"skip\"}", &ev)
		   == PZ_LINE_OK && ev.session_id == 2, "a repeated key: the last one wins (as jsonb)");
	tap_ok(ev_of("{\"sess\\u0069on_id\":7,\"timestamp\":\"2024-01-01T00:00:00\",\"event_type\":\"skip\",\"extra\":[1,{\"a\":null}]}\r", &ev)
		   == PZ_LINE_OK && ev.session_id == 7, "an escaped key, other fields, a CR before the newline");
	tap_ok(ev_of("{\"session_id\":-9223372036854775,\"timestamp\":\"2024-01-01T00:00:00\",\"user_id\":-2147483648,\"event_type\":\"play\",\"track_id\":\"t\"}", &ev)
		   == PZ_LINE_OK && ev.user_id == INT32_MIN, "extreme integers that fit");

	/* ---- rejects, each with its reason */
	rejects_s("", "empty line", "an empty line");
	rejects_s(" \t\r", "empty line", "a blank line");
	rejects_s("\\.\r", "malformed JSON", "psql's end-of-data marker is just a malformed line");
	rejects_s("{\"session_id\": 1, \"timestamp\": ", "malformed JSON", "a cut line");
	rejects_s("{'session_id': 1}", "malformed JSON", "single quotes");
	rejects_s("{\"a\":1,}", "malformed JSON", "a trailing comma");
	rejects_s("{\"a\":01}", "malformed JSON", "a leading zero");
	rejects_s("{\"a\":1.}", "malformed JSON", "a bare decimal point");
	rejects_s("{\"a\":tru}", "malformed JSON", "a cut literal");
	rejects_s("{\"a\":\"x\ty\"}", "control character", "a raw tab in a string");
	rejects_s("{\"a\":\"\\u0000\"}", "\\u0000", "the \\u0000 escape");
	rejects_s("{\"a\":\"\\ud800\"}", "surrogate", "a lone high surrogate");
	rejects_s("{\"a\":\"\\udc00x\"}", "surrogate", "a lone low surrogate");
	rejects_s("{\"a\":\"\\q\"}", "bad escape", "an unknown escape");
	rejects_s("{\"a\":1} x", "trailing", "text after the object");
	rejects_s("[1, 2, 3]", "not a JSON object", "an array");
	rejects_s("42", "not a JSON object", "a number");
	rejects_s("\"play\"", "not a JSON object", "a string");
	rejects("{\"a\":1}\0{\"b\":2}", 15, "NUL byte at offset 7", "a NUL byte");
	rejects_s("{\"track_id\":\"caf\xe9\"}", "invalid UTF-8 at offset 16", "a Latin-1 byte");
	rejects_s("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8", "an overlong encoding");
	rejects_s("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8", "an encoded surrogate");
	rejects_s("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8", "above U+10FFFF");
	rejects_s("{\"a\":\"\xe2\x82\"}", "invalid UTF-8", "a cut sequence");
	rejects_s("{\"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\"}",
			  "field \"session_id\": missing", "session_id missing");
	rejects_s("{\"session_id\": \"abc\", \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\"}",
			  "field \"session_id\": expected bigint, got \"abc\"", "session_id a string");
	rejects_s("{\"session_id\": 1.5, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\"}",
			  "field \"session_id\": expected bigint, got 1.5", "session_id a fraction");
	rejects_s("{\"session_id\": 123456789012345678901234567890, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\"}",
			  "field \"session_id\": expected bigint", "session_id too big");
	rejects_s("{\"session_id\": 2, \"timestamp\": \"2024-02-30T10:00:00\", \"event_type\": \"play\"}",
			  "field \"timestamp\": expected timestamp", "30 February");
	rejects_s("{\"session_id\": 2, \"timestamp\": 1704189600, \"event_type\": \"play\"}",
			  "field \"timestamp\": expected timestamp, got 1704189600", "a Unix time");
	rejects_s("{\"session_id\": 2, \"timestamp\": null, \"event_type\": \"play\"}",
			  "field \"timestamp\": missing", "a null timestamp");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"user_id\": 99999999999, \"event_type\": \"play\"}",
			  "field \"user_id\": expected integer", "user_id beyond int4");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"user_id\": 2147483648, \"event_type\": \"play\"}",
			  "field \"user_id\": expected integer", "user_id 2^31");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"user_id\": 1e-400, \"event_type\": \"play\"}",
			  "field \"user_id\": expected integer, got 1e-400", "user_id 1e-400");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"track_id\": 17, \"event_type\": \"play\"}",
			  "field \"track_id\": expected string, got 17", "track_id a number");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": 1}",
			  "field \"event_type\": expected string, got 1", "event_type a number");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\", \"x\": 1e-400}",
			  "field \"x\": number out of range: 1e-400", "1e-400 anywhere");
	rejects_s("{\"session_id\": 3, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"play\", \"x\": [1E+400]}",
			  "field \"x\": number out of range: 1E+400", "1e400 in an array");
	rejects_s("{\"session_id\": 4, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": \"listen\"}",
			  "unknown event type \"listen\"", "an unknown event type");
	rejects_s("{\"session_id\": 4, \"timestamp\": \"2024-01-02T10:00:00\", \"event_type\": null}",
			  "event_type missing", "a null event type");
	rejects_s("{\"session_id\": 4, \"timestamp\": \"2024-01-02T10:00:00\"}",
			  "event_type missing", "no event type");
	rejects_s("{\"event_type\": 5, \"session_id\": \"x\"}", "field \"event_type\"",
			  "field faults are reported in alphabetical order of the field");

	/* ---- catalogue lines */
	tap_ok(pz_check_line("{\"id\": \"t1\", \"tempo\": 1e299, \"x\": 0.0e-99999, \"y\": 1e-300}", strlen("{\"id\": \"t1\", \"tempo\": 1e299, \"x\": 0.0e-99999, \"y\": 1e-300}"), reason) == PZ_LINE_OK,
		   "a catalogue line with numbers at the edge of the range");
	tap_ok(pz_check_line("{\"id\": \"t1\", \"tempo\": 1e300}", strlen("{\"id\": \"t1\", \"tempo\": 1e300}"), reason) == PZ_LINE_REJECT &&
		   strstr(reason, "field \"tempo\": number out of range") != NULL, "1e300 is out of range (%s)", reason);
	tap_ok(pz_check_line("{\"id\": \"t1\", \"tempo\": 0.00000000000000000001e-290}", strlen("{\"id\": \"t1\", \"tempo\": 0.00000000000000000001e-290}"), reason) == PZ_LINE_REJECT,
		   "leading fraction zeros count towards underflow (%s)", reason);
	tap_ok(pz_check_line("{\"id\": \"t1\", \"n\": 1e99999999999999999999999}", strlen("{\"id\": \"t1\", \"n\": 1e99999999999999999999999}"), reason) == PZ_LINE_REJECT,
		   "a huge exponent saturates and is out of range");

	/* ---- limits */
	{
		size_t		n = PZ_LINE_MAX + 1;
		char	   *big = malloc(n);
		char	   *sc = malloc(n);
		int			depth = PZ_JSON_MAX_DEPTH + 5;
		char		deep[2 * (PZ_JSON_MAX_DEPTH + 5) + 16];
		size_t		o = 0;

		memset(big, ' ', n);
		tap_ok(pz_parse_event(big, n, &ev, sc, reason) == PZ_LINE_REJECT &&
			   strstr(reason, "line too long") != NULL, "a line over PZ_LINE_MAX (%s)", reason);
		deep[o++] = '{';
		deep[o++] = '"';
		deep[o++] = 'a';
		deep[o++] = '"';
		deep[o++] = ':';
		for (int i = 0; i < depth; i++)
			deep[o++] = '[';
		for (int i = 0; i < depth; i++)
			deep[o++] = ']';
		deep[o++] = '}';
		tap_ok(pz_check_line(deep, o, reason) == PZ_LINE_REJECT && strstr(reason, "nested deeper") != NULL,
			   "nesting deeper than %d levels (%s)", PZ_JSON_MAX_DEPTH, reason);
		free(big);
		free(sc);
	}

	/* ---- sanitising a rejected line for storage */
	tap_ok(pz_sanitize("a\0b\xe9\xc5\x84", 6, out, sizeof(out)) == 12 &&
		   strcmp(out, "a\\x00b\\xE9\xc5\x84") == 0, "NUL and invalid bytes become \\xNN: %s", out);
	tap_ok(pz_sanitize("\xc5\x84\xc5\x84", 4, out, 4) == 2 && strcmp(out, "\xc5\x84") == 0,
		   "a cut falls between characters");
	tap_ok(pz_utf8_invalid_at("ok \xf0\x9f\x8e\xb5", 7) == 7, "valid 4-byte UTF-8");
	return tap_done();
}
