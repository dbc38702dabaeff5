/*
 * import_line.h — the importer's line parser: one JSONL line of an export
 * file in, a typed row or a reject reason out.
 *
 * Pure C (no postgres.h, no allocation): used by the pozytywka-import client
 * (src/client/), by the unit test test/unit/test_import_line.c and by the
 * fuzz harness test/fuzz/fuzz_import_line.c.
 *
 * A line is checked in this order, the first failure being its reason:
 *   longer than PZ_LINE_MAX bytes, a NUL byte, invalid UTF-8, blank,
 *   malformed JSON (strict RFC 8259 grammar, \u0000 and lone surrogates
 *   refused because PostgreSQL text cannot hold them, nesting deeper than
 *   PZ_JSON_MAX_DEPTH), not a JSON object, then (sessions) the fields, then
 *   any number out of range, then (sessions) the event type.
 */
#ifndef PZ_IMPORT_LINE_H
#define PZ_IMPORT_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line accepted, in bytes without the newline.  The client never
 * holds more than this of a line: a longer one is rejected as it streams. */
#define PZ_LINE_MAX (1024 * 1024)
/* JSON nested deeper than this is rejected (bounds the parser's recursion). */
#define PZ_JSON_MAX_DEPTH 64
/* Room for a reason, NUL included: reasons quote at most 60 bytes of input. */
#define PZ_REASON_SIZE 256
/* A number whose magnitude is >= 1e300 or, non-zero, < 1e-300 is out of
 * range: double precision holds it only with no margin or not at all
 * (1e400 overflows, 1e-400 underflows to 0). */
#define PZ_NUMBER_MAX_EXP 300

typedef enum pz_import_kind
{
	PZ_KIND_ARTISTS,
	PZ_KIND_TRACKS,
	PZ_KIND_USERS,
	PZ_KIND_TRACK_STORAGE,
	PZ_KIND_SESSIONS,
	PZ_KIND_COUNT
} pz_import_kind;

/* the enum labels of pozytywka.event_type, in this order */
typedef enum pz_event_type
{
	PZ_EV_PLAY,
	PZ_EV_SKIP,
	PZ_EV_LIKE,
	PZ_EV_ADVERTISEMENT,
	PZ_EV_BUY_PREMIUM,
	PZ_EV_COUNT
} pz_event_type;

extern const char *const pz_event_type_names[PZ_EV_COUNT];
extern const char *const pz_import_kind_names[PZ_KIND_COUNT];

/* One event of sessions.jsonl, typed as pozytywka.sessions wants it. */
typedef struct pz_event
{
	int64_t		session_id;
	/* microseconds since 2000-01-01 00:00:00 (PostgreSQL's timestamp) */
	int64_t		ts_usec;
	int32_t		user_id;
	bool		has_user;
	/* decoded UTF-8 (JSON escapes resolved), in the caller's scratch */
	const char *track_id;
	size_t		track_len;
	bool		has_track;
	pz_event_type event_type;
} pz_event;

typedef enum pz_line_status
{
	PZ_LINE_OK,
	PZ_LINE_REJECT
} pz_line_status;

/*
 * pz_check_line: a catalogue line (artists, tracks, users, track_storage):
 * length, NUL, UTF-8, JSON syntax, an object, numbers in range.  The field
 * types are checked later by the SQL side on the verbatim line.
 * reason: PZ_REASON_SIZE bytes, set on PZ_LINE_REJECT (valid UTF-8).
 */
pz_line_status pz_check_line(const char *line, size_t len, char *reason);

/*
 * pz_parse_event: a sessions.jsonl line to an event.  scratch must hold len
 * bytes (the decoded track_id goes there; ev->track_id points into it).
 */
pz_line_status pz_parse_event(const char *line, size_t len, pz_event *ev,
							  char *scratch, char *reason);

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates
 * and code points above U+10FFFF are invalid), or len when all is valid. */
size_t		pz_utf8_invalid_at(const char *s, size_t len);

/*
 * pz_sanitize: s as valid UTF-8 text without NUL, for storing a rejected
 * line: every NUL byte or byte that is not part of valid UTF-8 becomes the
 * four characters \xNN.  Writes at most outsz bytes including the final
 * NUL, cutting only between characters; returns the bytes written (without
 * the NUL).  outsz >= 4 * len + 1 never cuts.
 */
size_t		pz_sanitize(const char *s, size_t len, char *out, size_t outsz);

/* "YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}]" (a real day) to microseconds since
 * 2000-01-01; false when s is not such a timestamp. */
bool		pz_parse_timestamp(const char *s, size_t len, int64_t *usec);

#endif							/* PZ_IMPORT_LINE_H */
