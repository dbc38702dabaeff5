/*
 * import_line.c — the importer's line parser (see import_line.h).
 *
 * A strict JSON parser over one line in memory: no allocation, recursion
 * bounded by PZ_JSON_MAX_DEPTH, every read bounded by the line's length (the
 * line need not be NUL-terminated).  It accepts exactly what PostgreSQL's
 * jsonb input accepts, minus what would fail later (a \u0000 escape, a lone
 * surrogate, numbers that do not fit double precision), so a line that
 * passes here never makes the server raise an error.
 */
#include "import_line.h"

#include <stdio.h>
#include <string.h>

const char *const pz_event_type_names[PZ_EV_COUNT] = {
	"play", "skip", "like", "advertisement", "buy_premium"
};

const char *const pz_import_kind_names[PZ_KIND_COUNT] = {
	"artists", "tracks", "users", "track_storage", "sessions"
};

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (avail >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		if (avail < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;			/* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0;			/* UTF-16 surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		if (avail < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;			/* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0;			/* above U+10FFFF */
		return 4;
	}
	return 0;
}

size_t
pz_utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		size_t		n;

		if (u[i] < 0x80)
		{
			i++;
			continue;
		}
		n = utf8_seq(u + i, len - i);
		if (n == 0)
			return i;
		i += n;
	}
	return len;
}

size_t
pz_sanitize(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t		i = 0,
				o = 0;

	if (outsz == 0)
		return 0;
	while (i < len)
	{
		size_t		n = (u[i] == 0) ? 0 : utf8_seq(u + i, len - i);

		if (n == 0)
		{
			if (o + 4 >= outsz)
				break;
			snprintf(out + o, 5, "\\x%02X", u[i]);
			o += 4;
			i++;
		}
		else
		{
			if (o + n >= outsz)
				break;
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		}
	}
	out[o] = '\0';
	return o;
}

/* ---------------------------------------------------------------- timestamps */

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *v)
{
	int			r = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return true;
}

bool
pz_parse_timestamp(const char *s, size_t len, int64_t *usec)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				mo,
				d,
				h,
				mi,
				se,
				frac = 0;
	int64_t		days;

	if (len < 19 || len > 26 || len == 20)
		return false;
	if (!digits(s, 4, &y) || s[0] == '0' || s[4] != '-' ||
		!digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
		(s[10] != 'T' && s[10] != ' ') ||
		!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
		s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	if (len > 19)
	{
		int			nf = (int) len - 20;

		if (s[19] != '.' || !digits(s + 20, nf, &frac))
			return false;
		for (int i = nf; i < 6; i++)
			frac *= 10;
	}
	days = days_from_civil(y, mo, d) - days_from_civil(2000, 1, 1);
	*usec = ((days * 24 + h) * 60 + mi) * (int64_t) 60000000 + (int64_t) se * 1000000 + frac;
	return true;
}

/* ---------------------------------------------------------------- JSON */

enum jtype
{
	J_NONE = 0,					/* member absent */
	J_NULL,
	J_FALSE,
	J_TRUE,
	J_NUMBER,
	J_STRING,
	J_ARRAY,
	J_OBJECT
};

/* the top-level members the sessions parser looks at, alphabetical: the
 * order in which their faults are reported */
enum
{
	F_EVENT_TYPE,
	F_SESSION_ID,
	F_TIMESTAMP,
	F_TRACK_ID,
	F_USER_ID,
	F_COUNT
};
static const char *const session_fields[F_COUNT] = {
	"event_type", "session_id", "timestamp", "track_id", "user_id"
};

typedef struct member
{
	enum jtype	type;
	size_t		start;			/* the value's token */
	size_t		len;
} member;

typedef struct parser
{
	const char *s;
	size_t		len;
	size_t		pos;
	char	   *reason;
	bool		failed;
	bool		want_fields;
	member		fields[F_COUNT];
	/* the top-level member being parsed (raw key, without quotes) */
	size_t		key_start;
	size_t		key_len;
	/* the first number out of range, and its top-level member */
	bool		range_bad;
	size_t		range_start;
	size_t		range_len;
	size_t		range_key_start;
	size_t		range_key_len;
	bool		range_has_key;
} parser;

/* at most max bytes of s, cut between UTF-8 characters */
static int
cut(const char *s, size_t len, size_t max)
{
	if (len > max)
	{
		len = max;
		while (len > 0 && ((unsigned char) s[len] & 0xC0) == 0x80)
			len--;
	}
	return (int) len;
}

static void
fail(parser *p, const char *what)
{
	if (!p->failed)
		snprintf(p->reason, PZ_REASON_SIZE, "malformed JSON: %s at offset %zu",
				 what, p->pos);
	p->failed = true;
}

static void
skip_ws(parser *p)
{
	while (p->pos < p->len)
	{
		char		c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
hex4(const char *s, unsigned *v)
{
	unsigned	r = 0;

	for (int i = 0; i < 4; i++)
	{
		int			h = hexval(s[i]);

		if (h < 0)
			return false;
		r = r * 16 + (unsigned) h;
	}
	*v = r;
	return true;
}

/*
 * A string token at p->pos (the opening quote).  The line is valid UTF-8
 * already; here: no raw control character, valid escapes, no \u0000, no
 * lone surrogate.
 */
static bool
parse_string(parser *p)
{
	const char *s = p->s;

	p->pos++;					/* the quote */
	while (p->pos < p->len)
	{
		unsigned char c = (unsigned char) s[p->pos];

		if (c == '"')
		{
			p->pos++;
			return true;
		}
		if (c < 0x20)
		{
			fail(p, "control character in a string");
			return false;
		}
		if (c != '\\')
		{
			p->pos++;
			continue;
		}
		if (p->pos + 1 >= p->len)
			break;
		c = (unsigned char) s[p->pos + 1];
		if (c == 'u')
		{
			unsigned	u,
						lo;

			if (p->pos + 6 > p->len || !hex4(s + p->pos + 2, &u))
			{
				fail(p, "bad \\u escape");
				return false;
			}
			if (u == 0)
			{
				fail(p, "\\u0000 (text cannot hold NUL)");
				return false;
			}
			if (u >= 0xDC00 && u <= 0xDFFF)
			{
				fail(p, "lone low surrogate");
				return false;
			}
			if (u >= 0xD800 && u <= 0xDBFF)
			{
				if (p->pos + 12 > p->len || s[p->pos + 6] != '\\' || s[p->pos + 7] != 'u' ||
					!hex4(s + p->pos + 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				{
					fail(p, "lone high surrogate");
					return false;
				}
				p->pos += 6;
			}
			p->pos += 6;
			continue;
		}
		if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' &&
			c != 'n' && c != 'r' && c != 't')
		{
			fail(p, "bad escape");
			return false;
		}
		p->pos += 2;
	}
	fail(p, "unterminated string");
	return false;
}

/*
 * Decode a string token (quotes included, already validated) to UTF-8 into
 * out (cap bytes).  Returns the length, or (size_t) -1 if it does not fit.
 */
static size_t
decode_string(const char *tok, size_t toklen, char *out, size_t cap)
{
	size_t		i = 1,
				o = 0;
	size_t		end = toklen - 1;

	while (i < end)
	{
		char		c = tok[i];
		unsigned	cp;

		if (c != '\\')
		{
			if (o >= cap)
				return (size_t) -1;
			out[o++] = c;
			i++;
			continue;
		}
		c = tok[i + 1];
		if (c != 'u')
		{
			if (o >= cap)
				return (size_t) -1;
			switch (c)
			{
				case 'b':
					out[o++] = '\b';
					break;
				case 'f':
					out[o++] = '\f';
					break;
				case 'n':
					out[o++] = '\n';
					break;
				case 'r':
					out[o++] = '\r';
					break;
				case 't':
					out[o++] = '\t';
					break;
				default:
					out[o++] = c;
					break;
			}
			i += 2;
			continue;
		}
		(void) hex4(tok + i + 2, &cp);
		i += 6;
		if (cp >= 0xD800 && cp <= 0xDBFF)
		{
			unsigned	lo;

			(void) hex4(tok + i + 2, &lo);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 6;
		}
		if (cp < 0x80)
		{
			if (o + 1 > cap)
				return (size_t) -1;
			out[o++] = (char) cp;
		}
		else if (cp < 0x800)
		{
			if (o + 2 > cap)
				return (size_t) -1;
			out[o++] = (char) (0xC0 | (cp >> 6));
			out[o++] = (char) (0x80 | (cp & 0x3F));
		}
		else if (cp < 0x10000)
		{
			if (o + 3 > cap)
				return (size_t) -1;
			out[o++] = (char) (0xE0 | (cp >> 12));
			out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char) (0x80 | (cp & 0x3F));
		}
		else
		{
			if (o + 4 > cap)
				return (size_t) -1;
			out[o++] = (char) (0xF0 | (cp >> 18));
			out[o++] = (char) (0x80 | ((cp >> 12) & 0x3F));
			out[o++] = (char) (0x80 | ((cp >> 6) & 0x3F));
			out[o++] = (char) (0x80 | (cp & 0x3F));
		}
	}
	return o;
}

/*
 * A number token: the JSON grammar, and its decimal magnitude from the
 * digits and the exponent alone (no strtod: the token may be a megabyte of
 * digits), so that 1e400 and 1e-400 are caught before PostgreSQL would fail
 * to convert them to double precision.
 */
static bool
parse_number(parser *p)
{
	const char *s = p->s;
	size_t		start = p->pos;
	size_t		i = p->pos;
	int64_t		mag = 0;		/* decimal exponent of the leading digit */
	bool		nonzero = false;
	int64_t		lead_int = 0;	/* significant digits before the point */
	int64_t		frac_zeros = 0; /* zeros after the point before a digit */
	int64_t		exp = 0;

	if (i < p->len && s[i] == '-')
		i++;
	if (i >= p->len || s[i] < '0' || s[i] > '9')
	{
		fail(p, "bad number");
		return false;
	}
	if (s[i] == '0')
		i++;
	else
	{
		nonzero = true;
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
		{
			if (lead_int < INT32_MAX)
				lead_int++;
			i++;
		}
	}
	if (i < p->len && s[i] == '.')
	{
		i++;
		if (i >= p->len || s[i] < '0' || s[i] > '9')
		{
			p->pos = i;
			fail(p, "bad number");
			return false;
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
		{
			if (!nonzero)
			{
				if (s[i] == '0')
				{
					if (frac_zeros < INT32_MAX)
						frac_zeros++;
				}
				else
					nonzero = true;
			}
			i++;
		}
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E'))
	{
		bool		neg = false;

		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			neg = (s[i++] == '-');
		if (i >= p->len || s[i] < '0' || s[i] > '9')
		{
			p->pos = i;
			fail(p, "bad number");
			return false;
		}
		while (i < p->len && s[i] >= '0' && s[i] <= '9')
		{
			if (exp < INT32_MAX)
				exp = exp * 10 + (s[i] - '0');
			if (exp > INT32_MAX)
				exp = INT32_MAX;
			i++;
		}
		if (neg)
			exp = -exp;
	}
	p->pos = i;
	if (nonzero)
	{
		mag = (lead_int > 0 ? lead_int - 1 : -frac_zeros - 1) + exp;
		if ((mag >= PZ_NUMBER_MAX_EXP || mag < -PZ_NUMBER_MAX_EXP) && !p->range_bad)
		{
			p->range_bad = true;
			p->range_start = start;
			p->range_len = i - start;
			p->range_has_key = p->key_start > 0;
			p->range_key_start = p->key_start;
			p->range_key_len = p->key_len;
		}
	}
	return true;
}

static bool match_lit(parser *p, const char *lit);
static enum jtype parse_value(parser *p, int depth, bool top);

/* Compare a raw key token body (without quotes) with a plain name. */
static bool
key_is(const char *raw, size_t rawlen, const char *name)
{
	char		buf[32];
	size_t		n;
	size_t		namelen = strlen(name);

	if (memchr(raw, '\\', rawlen) == NULL)
		return rawlen == namelen && memcmp(raw, name, namelen) == 0;
	if (rawlen > 6 * sizeof(buf))
		return false;
	/* decode_string wants the quotes: raw - 1 .. raw + rawlen + 1 */
	n = decode_string(raw - 1, rawlen + 2, buf, sizeof(buf));
	return n == namelen && memcmp(buf, name, namelen) == 0;
}

static enum jtype
parse_object(parser *p, int depth, bool top)
{
	p->pos++;					/* { */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}')
	{
		p->pos++;
		return J_OBJECT;
	}
	for (;;)
	{
		size_t		kstart;
		size_t		vstart;
		enum jtype	t;

		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"')
		{
			fail(p, "expected a key");
			return J_NONE;
		}
		kstart = p->pos;
		if (!parse_string(p))
			return J_NONE;
		if (top)
		{
			/* the key body, quotes excluded */
			p->key_start = kstart + 1;
			p->key_len = p->pos - 1 - p->key_start;
		}
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
		{
			fail(p, "expected ':'");
			return J_NONE;
		}
		p->pos++;
		skip_ws(p);
		vstart = p->pos;
		t = parse_value(p, depth + 1, false);
		if (t == J_NONE)
			return J_NONE;
		if (top && p->want_fields)
		{
			for (int f = 0; f < F_COUNT; f++)
			{
				if (key_is(p->s + p->key_start, p->key_len, session_fields[f]))
				{
					/* a repeated key: the last one wins, as in jsonb */
					p->fields[f].type = t;
					p->fields[f].start = vstart;
					p->fields[f].len = p->pos - vstart;
					break;
				}
			}
		}
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}')
		{
			p->pos++;
			return J_OBJECT;
		}
		fail(p, "expected ',' or '}'");
		return J_NONE;
	}
}

static enum jtype
parse_array(parser *p, int depth)
{
	p->pos++;					/* [ */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']')
	{
		p->pos++;
		return J_ARRAY;
	}
	for (;;)
	{
		skip_ws(p);
		if (parse_value(p, depth + 1, false) == J_NONE)
			return J_NONE;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']')
		{
			p->pos++;
			return J_ARRAY;
		}
		fail(p, "expected ',' or ']'");
		return J_NONE;
	}
}

static bool
match_lit(parser *p, const char *lit)
{
	size_t		n = strlen(lit);

	if (p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0)
	{
		p->pos += n;
		return true;
	}
	fail(p, "unexpected token");
	return false;
}

static enum jtype
parse_value(parser *p, int depth, bool top)
{
	if (depth > PZ_JSON_MAX_DEPTH)
	{
		if (!p->failed)
			snprintf(p->reason, PZ_REASON_SIZE,
					 "JSON nested deeper than %d levels", PZ_JSON_MAX_DEPTH);
		p->failed = true;
		return J_NONE;
	}
	if (p->pos >= p->len)
	{
		fail(p, "unexpected end of line");
		return J_NONE;
	}
	switch (p->s[p->pos])
	{
		case '{':
			return parse_object(p, depth, top);
		case '[':
			return parse_array(p, depth);
		case '"':
			return parse_string(p) ? J_STRING : J_NONE;
		case 't':
			return match_lit(p, "true") ? J_TRUE : J_NONE;
		case 'f':
			return match_lit(p, "false") ? J_FALSE : J_NONE;
		case 'n':
			return match_lit(p, "null") ? J_NULL : J_NONE;
		default:
			if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
				return parse_number(p) ? J_NUMBER : J_NONE;
			fail(p, "unexpected token");
			return J_NONE;
	}
}

/*
 * The checks common to every kind: length, NUL, UTF-8, blank, JSON, an
 * object.  Leaves the parsed members in p on success.
 */
static pz_line_status
check_common(parser *p, const char *line, size_t len, char *reason, bool want_fields)
{
	const char *nul;
	size_t		bad;
	enum jtype	t;

	memset(p, 0, sizeof(*p));
	p->s = line;
	p->len = len;
	p->reason = reason;
	p->want_fields = want_fields;
	reason[0] = '\0';
	if (len > PZ_LINE_MAX)
	{
		snprintf(reason, PZ_REASON_SIZE, "line too long: %zu bytes (the limit is %d)",
				 len, PZ_LINE_MAX);
		return PZ_LINE_REJECT;
	}
	nul = memchr(line, '\0', len);
	if (nul != NULL)
	{
		snprintf(reason, PZ_REASON_SIZE, "NUL byte at offset %zu", (size_t) (nul - line));
		return PZ_LINE_REJECT;
	}
	bad = pz_utf8_invalid_at(line, len);
	if (bad < len)
	{
		snprintf(reason, PZ_REASON_SIZE, "invalid UTF-8 at offset %zu (byte 0x%02X)",
				 bad, (unsigned char) line[bad]);
		return PZ_LINE_REJECT;
	}
	skip_ws(p);
	if (p->pos == len)
	{
		snprintf(reason, PZ_REASON_SIZE, "empty line");
		return PZ_LINE_REJECT;
	}
	t = parse_value(p, 1, line[p->pos] == '{');
	if (t == J_NONE)
		return PZ_LINE_REJECT;
	skip_ws(p);
	if (p->pos != len)
	{
		fail(p, "trailing characters");
		return PZ_LINE_REJECT;
	}
	if (t != J_OBJECT)
	{
		snprintf(reason, PZ_REASON_SIZE, "not a JSON object");
		return PZ_LINE_REJECT;
	}
	return PZ_LINE_OK;
}

static pz_line_status
range_reason(parser *p, char *reason)
{
	if (!p->range_bad)
		return PZ_LINE_OK;
	if (p->range_has_key)
		snprintf(reason, PZ_REASON_SIZE, "field \"%.*s\": number out of range: %.*s",
				 cut(p->s + p->range_key_start, p->range_key_len, 60), p->s + p->range_key_start,
				 cut(p->s + p->range_start, p->range_len, 60), p->s + p->range_start);
	else
		snprintf(reason, PZ_REASON_SIZE, "number out of range: %.*s",
				 cut(p->s + p->range_start, p->range_len, 60), p->s + p->range_start);
	return PZ_LINE_REJECT;
}

pz_line_status
pz_check_line(const char *line, size_t len, char *reason)
{
	parser		p;

	if (check_common(&p, line, len, reason, false) != PZ_LINE_OK)
		return PZ_LINE_REJECT;
	return range_reason(&p, reason);
}

static pz_line_status
field_reason(parser *p, int f, const char *expected, char *reason)
{
	member	   *m = &p->fields[f];

	if (expected == NULL)
		snprintf(reason, PZ_REASON_SIZE, "field \"%s\": missing", session_fields[f]);
	else
		snprintf(reason, PZ_REASON_SIZE, "field \"%s\": expected %s, got %.*s",
				 session_fields[f], expected, cut(p->s + m->start, m->len, 60), p->s + m->start);
	return PZ_LINE_REJECT;
}

/* -?[0-9]{1,maxdigits} (the JSON grammar has excluded leading zeros) */
static bool
integer_token(const char *s, size_t len, int maxdigits, int64_t *v)
{
	size_t		i = 0;
	bool		neg = false;
	int64_t		r = 0;

	if (len > 0 && s[0] == '-')
	{
		neg = true;
		i = 1;
	}
	if (len == i || len - i > (size_t) maxdigits)
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (s[i] - '0');
	}
	*v = neg ? -r : r;
	return true;
}

pz_line_status
pz_parse_event(const char *line, size_t len, pz_event *ev, char *scratch, char *reason)
{
	parser		p;
	member	   *m;
	char		buf[64];
	size_t		n;
	int64_t		v;

	memset(ev, 0, sizeof(*ev));
	if (check_common(&p, line, len, reason, true) != PZ_LINE_OK)
		return PZ_LINE_REJECT;

	m = &p.fields[F_EVENT_TYPE];
	if (m->type != J_NONE && m->type != J_NULL && m->type != J_STRING)
		return field_reason(&p, F_EVENT_TYPE, "string", reason);

	m = &p.fields[F_SESSION_ID];
	if (m->type == J_NONE || m->type == J_NULL)
		return field_reason(&p, F_SESSION_ID, NULL, reason);
	if (m->type != J_NUMBER || !integer_token(line + m->start, m->len, 18, &v))
		return field_reason(&p, F_SESSION_ID, "bigint", reason);
	ev->session_id = v;

	m = &p.fields[F_TIMESTAMP];
	if (m->type == J_NONE || m->type == J_NULL)
		return field_reason(&p, F_TIMESTAMP, NULL, reason);
	if (m->type != J_STRING ||
		(n = decode_string(line + m->start, m->len, buf, sizeof(buf))) == (size_t) -1 ||
		!pz_parse_timestamp(buf, n, &ev->ts_usec))
		return field_reason(&p, F_TIMESTAMP, "timestamp", reason);

	m = &p.fields[F_TRACK_ID];
	if (m->type == J_STRING)
	{
		/* decoded text is never longer than the token */
		ev->track_len = decode_string(line + m->start, m->len, scratch, len);
		ev->track_id = scratch;
		ev->has_track = true;
	}
	else if (m->type != J_NONE && m->type != J_NULL)
		return field_reason(&p, F_TRACK_ID, "string", reason);

	m = &p.fields[F_USER_ID];
	if (m->type == J_NUMBER && integer_token(line + m->start, m->len, 10, &v) &&
		v >= INT32_MIN && v <= INT32_MAX)
	{
		ev->user_id = (int32_t) v;
		ev->has_user = true;
	}
	else if (m->type != J_NONE && m->type != J_NULL)
		return field_reason(&p, F_USER_ID, "integer", reason);

	if (range_reason(&p, reason) != PZ_LINE_OK)
		return PZ_LINE_REJECT;

	/* event type: any letter case, blanks around it, 'advertisment' */
	m = &p.fields[F_EVENT_TYPE];
	if (m->type != J_STRING)
	{
		snprintf(reason, PZ_REASON_SIZE, "event_type missing");
		return PZ_LINE_REJECT;
	}
	n = decode_string(line + m->start, m->len, buf, sizeof(buf) - 1);
	if (n != (size_t) -1)
	{
		size_t		a = 0;

		while (a < n && buf[a] == ' ')
			a++;
		while (n > a && buf[n - 1] == ' ')
			n--;
		for (size_t i = a; i < n; i++)
			if (buf[i] >= 'A' && buf[i] <= 'Z')
				buf[i] = (char) (buf[i] - 'A' + 'a');
		buf[n] = '\0';
		if (strcmp(buf + a, "advertisment") == 0)
		{
			ev->event_type = PZ_EV_ADVERTISEMENT;
			return PZ_LINE_OK;
		}
		for (int e = 0; e < PZ_EV_COUNT; e++)
		{
			if (strcmp(buf + a, pz_event_type_names[e]) == 0)
			{
				ev->event_type = (pz_event_type) e;
				return PZ_LINE_OK;
			}
		}
	}
	snprintf(reason, PZ_REASON_SIZE, "unknown event type %.*s",
			 cut(line + m->start, m->len, 60), line + m->start);
	return PZ_LINE_REJECT;
}
