/*
 * fuzz_import_line.c — libFuzzer harness for the importer's line parser
 * (src/core/import_line.c): any bytes as a sessions line and as a
 * catalogue line.  Crashes, sanitizer reports, reads beyond the line (the
 * input is copied to a buffer of exactly its size), hangs are failures; so
 * is an accepted line that breaks the parser's promises: an accepted line
 * is valid UTF-8 without NUL, a decoded track id is valid UTF-8 without NUL
 * and no longer than the line, a reason is short valid UTF-8.
 *
 * Build: make fuzz-bins; run: test/fuzz/bin/fuzz_import_line test/fuzz/corpus/import_line
 */
#include "import_line.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *line = malloc(size ? size : 1);
	char	   *scratch = malloc(size ? size : 1);
	char		reason[PZ_REASON_SIZE];
	char		san[256];
	pz_event	ev;
	pz_line_status st;

	if (line == NULL || scratch == NULL)
		abort();
	memcpy(line, data, size);

	st = pz_parse_event(line, size, &ev, scratch, reason);
	if (st == PZ_LINE_OK)
	{
		if (memchr(line, 0, size) != NULL || pz_utf8_invalid_at(line, size) != size)
			abort();
		if (ev.has_track && (ev.track_len > size || memchr(ev.track_id, 0, ev.track_len) != NULL ||
							 pz_utf8_invalid_at(ev.track_id, ev.track_len) != ev.track_len))
			abort();
		if ((unsigned) ev.event_type >= PZ_EV_COUNT)
			abort();
	}
	else if (strlen(reason) == 0 || strlen(reason) >= PZ_REASON_SIZE ||
			 pz_utf8_invalid_at(reason, strlen(reason)) != strlen(reason))
		abort();

	st = pz_check_line(line, size, reason);
	if (st == PZ_LINE_OK && pz_utf8_invalid_at(line, size) != size)
		abort();
	if (st != PZ_LINE_OK && pz_utf8_invalid_at(reason, strlen(reason)) != strlen(reason))
		abort();

	{
		size_t		n = pz_sanitize(line, size, san, sizeof(san));

		if (n >= sizeof(san) || strlen(san) != n || pz_utf8_invalid_at(san, n) != n)
			abort();
	}
	free(line);
	free(scratch);
	return 0;
}
