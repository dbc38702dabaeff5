/*
 * pozytywka_import.c — pozytywka-import: load the service's JSONL exports.
 *
 *   pozytywka-import [-h HOST] [-p PORT] [-U USER] [-d DBNAME] [DIR]
 *
 * Connects like psql (the same options, PGHOST, PGPORT, PGUSER, PGDATABASE
 * and the other libpq variables).  For each export file of DIR (artists,
 * tracks, users, track_storage, sessions; .jsonl or .jsonl.gz) in that
 * order, in one transaction per file:
 *   1. the file is read here, line by line, with bounded memory, and each
 *      line parsed by src/core/import_line.c: a session event becomes a
 *      typed row, a catalogue line is checked and kept verbatim, a bad line
 *      becomes a reject with its reason;
 *   2. the rows go to a temporary table with COPY ... FROM STDIN (FORMAT
 *      binary): data never becomes SQL text, and there is no end-of-data
 *      marker that a line could imitate;
 *   3. pozytywka.import_file(kind, source), called with bound parameters,
 *      repairs, de-duplicates and inserts the rows, records the rejects and
 *      the run, and returns the counts.
 *
 * Files are opened relative to DIR with O_NOFOLLOW and must be regular
 * files (checked on the open descriptor): a symlink, a FIFO or a device is
 * refused before anything is loaded.  SIGINT cancels the running statement
 * and rolls the file back.
 */
#define _GNU_SOURCE				/* vasprintf */
#include "import_line.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <zlib.h>

#define READ_CHUNK (1024 * 1024)
#define COPY_FLUSH (1024 * 1024)
/* of a line too long to keep, this many bytes go to import_rejects */
#define LONG_LINE_KEEP 1024

static const char *progname = "pozytywka-import";
static volatile sig_atomic_t cancel_requested = 0;
static bool quiet = false;
static PGcancel *volatile cancel_handle = NULL;

static void
on_sigint(int signo)
{
	char		errbuf[256];
	PGcancel   *c = cancel_handle;

	(void) signo;
	cancel_requested = 1;
	/* PQcancel is safe in a signal handler (libpq documents it so) */
	if (c != NULL)
		(void) PQcancel(c, errbuf, sizeof(errbuf));
}

/* ---------------------------------------------------------------- files */

typedef struct export_file
{
	pz_import_kind kind;
	char		name[64];		/* e.g. sessions.jsonl.gz */
	char	   *display;		/* DIR/name, for messages */
	char	   *source;			/* absolute path as valid UTF-8, for import_runs */
	int			fd;
	bool		gz;
} export_file;

/* Open name in dirfd as a regular file that is not a symlink, or say why not. */
static int
open_regular(int dirfd, const char *name, const char *display, bool *absent)
{
	struct stat st,
				st2;
	int			fd;

	*absent = false;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
	{
		if (errno == ENOENT)
		{
			*absent = true;
			return -1;
		}
		fprintf(stderr, "%s: %s: refused: %s\n", progname, display, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode))
	{
		fprintf(stderr, "%s: %s: refused: a symbolic link (only regular files are read)\n",
				progname, display);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
	{
		fprintf(stderr, "%s: %s: refused: not a regular file\n", progname, display);
		return -1;
	}
	/*
	 * O_NOFOLLOW and O_NONBLOCK: if the name was swapped for a symlink or a
	 * FIFO since fstatat, the open fails or does not block, and the fstat of
	 * the descriptor below (what is actually read) refuses it.
	 */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
	{
		fprintf(stderr, "%s: %s: refused: %s\n", progname, display,
				errno == ELOOP ? "a symbolic link (only regular files are read)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) ||
		st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
	{
		fprintf(stderr, "%s: %s: refused: not a regular file (or replaced while opening)\n",
				progname, display);
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, 0) != 0)
	{
		fprintf(stderr, "%s: %s: %s\n", progname, display, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *s;
	int			n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	return s;
}

/* valid UTF-8 text of an arbitrary byte string (file names may be anything) */
static char *
utf8_text(const char *s)
{
	size_t		len = strlen(s);
	size_t		cap = 4 * len + 1;
	char	   *out = malloc(cap);

	if (out == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	pz_sanitize(s, len, out, cap);
	return out;
}

/* ---------------------------------------------------------------- reading */

typedef struct reader
{
	int			fd;
	gzFile		gz;
} reader;

/* bytes read, 0 at the end, -1 on an error (message printed) */
static ssize_t
reader_read(reader *r, char *buf, size_t n, const char *display)
{
	if (r->gz != NULL)
	{
		int			got = gzread(r->gz, buf, (unsigned) n);
		int			err = Z_OK;
		const char *msg = "read error";

		/* a truncated stream ends with Z_BUF_ERROR, not a clean end */
		if (got <= 0)
			msg = gzerror(r->gz, &err);
		if (got < 0 || (got == 0 && err != Z_OK))
		{
			fprintf(stderr, "%s: %s could not be read to its end (truncated or corrupt?): %s\n",
					progname, display, msg);
			return -1;
		}
		return got;
	}
	for (;;)
	{
		ssize_t		got = read(r->fd, buf, n);

		if (got >= 0)
			return got;
		if (errno == EINTR && !cancel_requested)
			continue;
		fprintf(stderr, "%s: %s: %s\n", progname, display,
				cancel_requested ? "cancelled" : strerror(errno));
		return -1;
	}
}

/* ---------------------------------------------------------------- COPY binary */

typedef struct copybuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	PGconn	   *conn;
	bool		failed;
} copybuf;

static void
cb_reserve(copybuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	while (b->len + more > b->cap)
		b->cap *= 2;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
}

static void
cb_bytes(copybuf *b, const void *p, size_t n)
{
	cb_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
cb_i16(copybuf *b, int16_t v)
{
	unsigned char x[2] = {(unsigned char) ((uint16_t) v >> 8), (unsigned char) v};

	cb_bytes(b, x, 2);
}

static void
cb_i32(copybuf *b, int32_t v)
{
	uint32_t	u = (uint32_t) v;
	unsigned char x[4] = {u >> 24, u >> 16, u >> 8, u};

	cb_bytes(b, x, 4);
}

static void
cb_i64(copybuf *b, int64_t v)
{
	uint64_t	u = (uint64_t) v;
	unsigned char x[8];

	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char) (u >> (56 - 8 * i));
	cb_bytes(b, x, 8);
}

static void
cb_null(copybuf *b)
{
	cb_i32(b, -1);
}

static void
cb_field_i64(copybuf *b, int64_t v)
{
	cb_i32(b, 8);
	cb_i64(b, v);
}

static void
cb_field_text(copybuf *b, const char *s, size_t n)
{
	cb_i32(b, (int32_t) n);
	cb_bytes(b, s, n);
}

static bool
cb_flush(copybuf *b)
{
	if (b->failed)
		return false;
	if (b->len > 0 && PQputCopyData(b->conn, b->data, (int) b->len) != 1)
	{
		b->failed = true;
		return false;
	}
	b->len = 0;
	return true;
}

/* the columns of the COPY below, in order */
#define NCOLS 8
static const char copy_sql[] =
"COPY pg_temp.pz_import_lines (line_no, line, reason, session_id, ts, user_id, track_id, event_type) "
"FROM STDIN (FORMAT binary)";

typedef struct loader
{
	pz_import_kind kind;
	copybuf		out;
	char	   *scratch;		/* PZ_LINE_MAX: decoded track ids */
	char	   *sanitized;		/* 4 * PZ_LINE_MAX + 1: rejected lines */
	int64_t		lines;
	int64_t		c_rejected;
} loader;

static void
emit_reject(loader *ld, int64_t line_no, const char *line, size_t keep, const char *reason)
{
	size_t		n = pz_sanitize(line, keep, ld->sanitized, 4 * (size_t) PZ_LINE_MAX + 1);

	cb_i16(&ld->out, NCOLS);
	cb_field_i64(&ld->out, line_no);
	cb_field_text(&ld->out, ld->sanitized, n);
	cb_field_text(&ld->out, reason, strlen(reason));
	for (int i = 3; i < NCOLS; i++)
		cb_null(&ld->out);
	ld->c_rejected++;
}

/*
 * One line: data[0..len) are the bytes held (at most PZ_LINE_MAX), total
 * the line's real length (more when it was too long to hold).
 */
static void
process_line(loader *ld, const char *data, size_t len, size_t total)
{
	char		reason[PZ_REASON_SIZE];
	int64_t		line_no = ++ld->lines;

	if (total > PZ_LINE_MAX)
	{
		snprintf(reason, sizeof(reason),
				 "line too long: %zu bytes (the limit is %d); only its first %d bytes are kept here",
				 total, PZ_LINE_MAX, LONG_LINE_KEEP);
		emit_reject(ld, line_no, data, len < LONG_LINE_KEEP ? len : LONG_LINE_KEEP, reason);
		return;
	}
	if (ld->kind == PZ_KIND_SESSIONS)
	{
		pz_event	ev;

		if (pz_parse_event(data, len, &ev, ld->scratch, reason) != PZ_LINE_OK)
		{
			emit_reject(ld, line_no, data, len, reason);
			return;
		}
		cb_i16(&ld->out, NCOLS);
		cb_field_i64(&ld->out, line_no);
		/*
		 * The line itself only where the SQL side may still reject the
		 * event (a play, skip or like without a track): it is kept with the
		 * reason then.
		 */
		if (!ev.has_track && ev.event_type <= PZ_EV_LIKE)
			cb_field_text(&ld->out, data, len);
		else
			cb_null(&ld->out);
		cb_null(&ld->out);		/* reason */
		cb_field_i64(&ld->out, ev.session_id);
		cb_field_i64(&ld->out, ev.ts_usec);
		if (ev.has_user)
		{
			cb_i32(&ld->out, 4);
			cb_i32(&ld->out, ev.user_id);
		}
		else
			cb_null(&ld->out);
		if (ev.has_track)
			cb_field_text(&ld->out, ev.track_id, ev.track_len);
		else
			cb_null(&ld->out);
		/* an enum's binary form is its label */
		cb_field_text(&ld->out, pz_event_type_names[ev.event_type],
					  strlen(pz_event_type_names[ev.event_type]));
	}
	else
	{
		if (pz_check_line(data, len, reason) != PZ_LINE_OK)
		{
			emit_reject(ld, line_no, data, len, reason);
			return;
		}
		cb_i16(&ld->out, NCOLS);
		cb_field_i64(&ld->out, line_no);
		cb_field_text(&ld->out, data, len);
		for (int i = 2; i < NCOLS; i++)
			cb_null(&ld->out);
	}
}

/* ---------------------------------------------------------------- SQL */

static bool
exec_ok(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == want;

	if (!ok)
		fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/*
 * Stream the file into the COPY.  Returns false on a read error, a COPY
 * error or a cancel; the caller rolls back.
 */
static bool
stream_file(PGconn *conn, export_file *f, loader *ld)
{
	static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	reader		r = {f->fd, NULL};
	char	   *rbuf = malloc(READ_CHUNK);
	char	   *lbuf = malloc(PZ_LINE_MAX);
	size_t		llen = 0;		/* bytes of the current line held in lbuf */
	size_t		ltotal = 0;		/* its length so far */
	bool		ok = true;
	PGresult   *res;

	if (rbuf == NULL || lbuf == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}
	if (f->gz)
	{
		int			fd2 = dup(f->fd);

		if (fd2 < 0 || (r.gz = gzdopen(fd2, "rb")) == NULL)
		{
			fprintf(stderr, "%s: %s: cannot open as gzip\n", progname, f->display);
			if (fd2 >= 0)
				close(fd2);
			free(rbuf);
			free(lbuf);
			return false;
		}
		(void) gzbuffer(r.gz, 256 * 1024);
	}

	res = PQexec(conn, copy_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN)
	{
		fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
		PQclear(res);
		ok = false;
		goto done;
	}
	PQclear(res);
	cb_bytes(&ld->out, header, sizeof(header));

	for (;;)
	{
		ssize_t		got = reader_read(&r, rbuf, READ_CHUNK, f->display);
		size_t		pos = 0;

		if (cancel_requested)
		{
			fprintf(stderr, "%s: cancelled\n", progname);
			ok = false;
			break;
		}
		if (got < 0)
		{
			ok = false;
			break;
		}
		if (got == 0)
		{
			/* the last line without a newline */
			if (ltotal > 0)
				process_line(ld, lbuf, llen, ltotal);
			break;
		}
		while (pos < (size_t) got)
		{
			char	   *nl = memchr(rbuf + pos, '\n', (size_t) got - pos);
			size_t		seg = (nl ? (size_t) (nl - rbuf) : (size_t) got) - pos;

			if (nl != NULL && ltotal == 0)
			{
				/* the whole line is in the read buffer: no copy */
				process_line(ld, rbuf + pos, seg, seg);
			}
			else
			{
				/* hold at most PZ_LINE_MAX bytes of a line, count the rest */
				size_t		room = PZ_LINE_MAX - llen;
				size_t		take = seg < room ? seg : room;

				memcpy(lbuf + llen, rbuf + pos, take);
				llen += take;
				ltotal += seg;
				if (nl != NULL)
				{
					process_line(ld, lbuf, llen, ltotal);
					llen = ltotal = 0;
				}
			}
			pos += seg + (nl ? 1 : 0);
			if (ld->out.len >= COPY_FLUSH && !cb_flush(&ld->out))
				break;
		}
		if (ld->out.failed)
		{
			ok = false;
			break;
		}
	}
	if (ok)
	{
		cb_i16(&ld->out, -1);	/* the binary COPY trailer */
		ok = cb_flush(&ld->out);
	}
	ld->out.len = 0;
	/*
	 * On any failure end the COPY with an error: the server discards what
	 * it received and the transaction is aborted.
	 */
	if (PQputCopyEnd(conn, ok ? NULL : "pozytywka-import: the file could not be read to its end") != 1)
		ok = false;
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			if (ok || ld->out.failed)
				fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
			ok = false;
		}
		PQclear(res);
	}
done:
	if (r.gz != NULL)
		gzclose(r.gz);
	free(rbuf);
	free(lbuf);
	return ok;
}

static const char create_sql[] =
"CREATE TEMP TABLE pz_import_lines ("
" line_no bigint NOT NULL, line text, reason text,"
" session_id bigint, ts timestamp, user_id integer, track_id text,"
" event_type pozytywka.event_type, repaired boolean NOT NULL DEFAULT false"
") ON COMMIT DROP";

static const char import_sql[] =
"SELECT kind, lines, loaded, repaired, rejected, duplicates"
" FROM pozytywka.import_file($1, $2)";

/* Load one file in one transaction; false if nothing of it was loaded. */
static bool
load_file(PGconn *conn, export_file *f)
{
	loader		ld;
	bool		ok;
	PGresult   *res;
	const char *params[2];

	memset(&ld, 0, sizeof(ld));
	ld.kind = f->kind;
	ld.out.cap = 2 * COPY_FLUSH;
	ld.out.data = malloc(ld.out.cap);
	ld.out.conn = conn;
	ld.scratch = malloc(PZ_LINE_MAX);
	ld.sanitized = malloc(4 * (size_t) PZ_LINE_MAX + 1);
	if (ld.out.data == NULL || ld.scratch == NULL || ld.sanitized == NULL)
	{
		fprintf(stderr, "%s: out of memory\n", progname);
		exit(1);
	}

	ok = exec_ok(conn, "BEGIN", PGRES_COMMAND_OK) &&
		exec_ok(conn, create_sql, PGRES_COMMAND_OK) &&
		stream_file(conn, f, &ld);
	if (ok && cancel_requested)
		ok = false;
	if (ok)
	{
		params[0] = pz_import_kind_names[f->kind];
		params[1] = f->source;
		res = PQexecParams(conn, import_sql, 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
			ok = false;
		}
		else
		{
			long long	lines = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
			long long	loaded = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
			long long	repaired = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
			long long	rejected = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
			long long	dups = strtoll(PQgetvalue(res, 0, 5), NULL, 10);

			/* every line read must be accounted for, here and there */
			if (lines != ld.lines || lines != loaded + repaired + rejected)
			{
				fprintf(stderr, "%s: %s: %" PRId64 " lines read but the server counted %lld "
						"(loaded %lld + repaired %lld + rejected %lld)\n",
						progname, f->display, ld.lines, lines, loaded, repaired, rejected);
				ok = false;
			}
			else
			{
				ok = exec_ok(conn, "COMMIT", PGRES_COMMAND_OK);
				if (ok && !quiet)
					printf("%-14s %10lld %10lld %10lld %10lld %11lld  %s\n",
						   pz_import_kind_names[f->kind], lines, loaded, repaired,
						   rejected, dups, f->display);
				fflush(stdout);
			}
		}
		PQclear(res);
	}
	if (!ok)
	{
		if (PQstatus(conn) == CONNECTION_OK)
		{
			res = PQexec(conn, "ROLLBACK");
			PQclear(res);
		}
		fprintf(stderr, "%s: loading %s failed; nothing of it was loaded\n",
				progname, f->display);
	}
	free(ld.out.data);
	free(ld.scratch);
	free(ld.sanitized);
	return ok;
}

/* ---------------------------------------------------------------- main */

static void
usage(FILE *out)
{
	fprintf(out,
			"usage: %s [OPTION]... [DIR]\n"
			"Load the service's JSONL exports of DIR (default .) into pozytywka:\n"
			"artists, tracks, users, track_storage, sessions (.jsonl or .jsonl.gz),\n"
			"each file in one transaction.  Per file it prints\n"
			"  lines = loaded + repaired + rejected, and duplicates: of the loaded and\n"
			"  repaired lines, those that changed nothing (already there, or repeated).\n"
			"Options (as psql's; PGHOST, PGPORT, PGUSER, PGDATABASE, ... apply too):\n"
			"  -h, --host=HOST        database server host or socket directory\n"
			"  -p, --port=PORT        database server port\n"
			"  -U, --username=USER    database user name\n"
			"  -d, --dbname=DBNAME    database name or connection string\n"
			"  -q, --quiet            print nothing but errors\n"
			"  --help                 this help\n",
			progname);
}

int
main(int argc, char **argv)
{
	static const char *kinds_order[] = {"artists", "tracks", "users", "track_storage", "sessions"};
	const char *host = NULL,
			   *port = NULL,
			   *user = NULL,
			   *dbname = NULL,
			   *dir = NULL;
	export_file files[2 * PZ_KIND_COUNT];
	int			nfiles = 0;
	int			refused = 0;
	int			dirfd;
	char	   *realdir;
	PGconn	   *conn;
	PGresult   *res;
	struct sigaction sa;
	int			status = 0;

	for (int i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char **target = NULL;

		if (strcmp(a, "--") == 0)
			continue;			/* the old "DIR -- psql options" form */
		if (strcmp(a, "--help") == 0 || strcmp(a, "-?") == 0)
		{
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
		{
			quiet = true;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
		{
			static const struct
			{
				const char *sopt;
				const char *lopt;
				int			which;
			}			opts[] = {
				{"-h", "--host", 0}, {"-p", "--port", 1}, {"-U", "--username", 2}, {"-d", "--dbname", 3}
			};
			const char **targets[4] = {&host, &port, &user, &dbname};
			const char *val = NULL;

			for (size_t o = 0; o < sizeof(opts) / sizeof(opts[0]); o++)
			{
				size_t		ll = strlen(opts[o].lopt);

				if (strcmp(a, opts[o].sopt) == 0 || strcmp(a, opts[o].lopt) == 0)
				{
					if (i + 1 >= argc)
					{
						fprintf(stderr, "%s: option %s needs a value\n", progname, a);
						return 2;
					}
					target = targets[opts[o].which];
					val = argv[++i];
				}
				else if (strncmp(a, opts[o].sopt, 2) == 0 && a[2] != '\0' && a[1] != '-')
				{
					target = targets[opts[o].which];
					val = a + 2;
				}
				else if (strncmp(a, opts[o].lopt, ll) == 0 && a[ll] == '=')
				{
					target = targets[opts[o].which];
					val = a + ll + 1;
				}
				if (target != NULL)
					break;
			}
			if (target == NULL)
			{
				fprintf(stderr, "%s: unknown option %s\n", progname, a);
				usage(stderr);
				return 2;
			}
			*target = val;
			continue;
		}
		if (dir != NULL)
		{
			fprintf(stderr, "%s: only one DIR may be given\n", progname);
			usage(stderr);
			return 2;
		}
		dir = a;
	}
	if (dir == NULL)
		dir = ".";

	/* ---- open every export file before loading any */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
	{
		fprintf(stderr, "%s: %s is not a directory that can be read: %s\n", progname, dir,
				strerror(errno));
		return 2;
	}
	realdir = realpath(dir, NULL);
	for (int k = 0; k < PZ_KIND_COUNT; k++)
	{
		for (int g = 0; g < 2; g++)
		{
			export_file *f = &files[nfiles];
			bool		absent;

			f->kind = (pz_import_kind) k;
			snprintf(f->name, sizeof(f->name), "%s.jsonl%s", kinds_order[k], g ? ".gz" : "");
			f->gz = g;
			f->display = xasprintf("%s/%s", dir, f->name);
			f->fd = open_regular(dirfd, f->name, f->display, &absent);
			if (f->fd < 0)
			{
				if (!absent)
					refused++;
				free(f->display);
				continue;
			}
			{
				char	   *abs = xasprintf("%s/%s", realdir ? realdir : dir, f->name);

				f->source = utf8_text(abs);
				free(abs);
			}
			nfiles++;
		}
	}
	free(realdir);
	close(dirfd);
	if (refused > 0)
	{
		fprintf(stderr, "%s: %d file%s refused; nothing was loaded\n", progname, refused,
				refused == 1 ? "" : "s");
		return 1;
	}
	if (nfiles == 0)
	{
		fprintf(stderr, "%s: no export files (artists|tracks|users|track_storage|sessions).jsonl[.gz] in %s\n",
				progname, dir);
		return 1;
	}

	/* ---- connect */
	{
		const char *keys[] = {"host", "port", "user", "dbname", "fallback_application_name",
		"client_encoding", NULL};
		const char *vals[] = {host, port, user, dbname, "pozytywka-import", "UTF8", NULL};

		conn = PQconnectdbParams(keys, vals, 1);
	}
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "%s: %s", progname, conn ? PQerrorMessage(conn) : "out of memory\n");
		PQfinish(conn);
		return 1;
	}
	/*
	 * Nothing below may resolve to objects of the caller's search_path: pin
	 * it for the session.  temp_buffers (before any temporary table is
	 * touched) keeps the staging table of a big file in memory.
	 */
	res = PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false),"
				 " pg_catalog.set_config('temp_buffers', '256MB', false)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		return 1;
	}
	PQclear(res);
	/* the schema pozytywka must be the extension's own, not a look-alike */
	res = PQexec(conn,
				 "SELECT 1 FROM pg_catalog.pg_extension AS e"
				 " JOIN pg_catalog.pg_depend AS d ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
				 "  AND d.refobjid = e.oid AND d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
				 "  AND d.deptype = 'e'"
				 " JOIN pg_catalog.pg_namespace AS n ON n.oid = d.objid AND n.nspname = 'pozytywka'"
				 " WHERE e.extname = 'pozytywka'");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fprintf(stderr, "%s: %s", progname, PQerrorMessage(conn));
		else
			fprintf(stderr, "%s: the extension pozytywka is not installed in this database (CREATE EXTENSION pozytywka)\n",
					progname);
		PQclear(res);
		PQfinish(conn);
		return 1;
	}
	PQclear(res);

	cancel_handle = PQgetCancel(conn);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;			/* no SA_RESTART: a blocked read returns EINTR */
	sigaction(SIGINT, &sa, NULL);

	if (!quiet)
		printf("%-14s %10s %10s %10s %10s %11s  %s\n", "kind", "lines", "loaded", "repaired",
			   "rejected", "duplicates", "file");
	for (int i = 0; i < nfiles && status == 0; i++)
	{
		if (!load_file(conn, &files[i]))
			status = cancel_requested ? 130 : 1;
	}
	for (int i = 0; i < nfiles; i++)
	{
		close(files[i].fd);
		free(files[i].display);
		free(files[i].source);
	}

	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	{
		PGcancel   *c = cancel_handle;

		cancel_handle = NULL;
		PQfreeCancel(c);
	}
	PQfinish(conn);
	return status;
}
