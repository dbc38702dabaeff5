/*
 * lstm_io.c — versioned, checksummed binary format of LSTM weights.
 * The layout is documented in lstm.h.  Bytes are assembled one by one, so
 * the format is little-endian whatever the host's byte order.
 */
#include "lstm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pz_crc32.h"

static const unsigned char lstm_magic[8] = {'P', 'Z', 'L', 'S', 'T', 'M', 0, 1};

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char) v;
	p[1] = (unsigned char) (v >> 8);
	p[2] = (unsigned char) (v >> 16);
	p[3] = (unsigned char) (v >> 24);
}

static void
put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t) v);
	put_u32(p + 4, (uint32_t) (v >> 32));
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
		(uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t
get_u64(const unsigned char *p)
{
	return (uint64_t) get_u32(p) | (uint64_t) get_u32(p + 4) << 32;
}

size_t
pz_lstm_serialized_size(const pz_lstm *m)
{
	return PZ_LSTM_HEADER_BYTES + 8 * m->n_params + 4;
}

void
pz_lstm_serialize(const pz_lstm *m, unsigned char *buf)
{
	unsigned char *p = buf;
	size_t		i;

	memcpy(p, lstm_magic, 8);
	put_u32(p + 8, PZ_LSTM_FORMAT_VERSION);
	put_u32(p + 12, (uint32_t) m->input_size);
	put_u32(p + 16, (uint32_t) m->hidden_size);
	put_u32(p + 20, (uint32_t) m->num_layers);
	put_u32(p + 24, (uint32_t) (m->window > 0 ? m->window : 0));
	put_u32(p + 28, 0);
	put_u64(p + 32, (uint64_t) m->n_params);
	p += PZ_LSTM_HEADER_BYTES;
	for (i = 0; i < m->n_params; i++, p += 8)
	{
		uint64_t	bits;

		memcpy(&bits, &m->params[i], 8);
		put_u64(p, bits);
	}
	put_u32(p, pz_crc32(0, buf, (size_t) (p - buf)));
}

pz_status
pz_lstm_deserialize(const unsigned char *buf, size_t len, pz_lstm **out,
					char *errmsg)
{
	uint32_t	version,
				in,
				hid,
				layers,
				window,
				reserved;
	uint64_t	n;
	size_t		expect,
				i;
	pz_lstm    *m;
	pz_status	st;

	*out = NULL;
	if (buf == NULL || len < PZ_LSTM_HEADER_BYTES + 4)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights truncated: %zu bytes, a header needs %d",
				 buf ? len : 0, PZ_LSTM_HEADER_BYTES + 4);
		return PZ_ECORRUPT;
	}
	if (memcmp(buf, lstm_magic, 8) != 0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "not LSTM weights (bad magic number)");
		return PZ_ECORRUPT;
	}
	if (pz_crc32(0, buf, len - 4) != get_u32(buf + len - 4))
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights corrupt or truncated (CRC-32 mismatch over %zu bytes)",
				 len);
		return PZ_ECORRUPT;
	}
	version = get_u32(buf + 8);
	if (version != PZ_LSTM_FORMAT_VERSION)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights in format version %u; this build reads version %d",
				 version, PZ_LSTM_FORMAT_VERSION);
		return PZ_EVERSION;
	}
	in = get_u32(buf + 12);
	hid = get_u32(buf + 16);
	layers = get_u32(buf + 20);
	window = get_u32(buf + 24);
	reserved = get_u32(buf + 28);
	n = get_u64(buf + 32);
	if (in < 1 || in > PZ_LSTM_MAX_INPUT || hid < 1 ||
		hid > PZ_LSTM_MAX_HIDDEN || layers < 1 ||
		layers > PZ_LSTM_MAX_LAYERS || window > PZ_LSTM_MAX_WINDOW ||
		reserved != 0)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights header out of range (input %u, hidden %u, "
				 "layers %u, window %u)", in, hid, layers, window);
		return PZ_ECORRUPT;
	}
	expect = pz_lstm_param_count((int) in, (int) hid, (int) layers);
	if (expect == 0 || n != (uint64_t) expect)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights header inconsistent: %llu parameters stored, "
				 "LSTM(%u, %u, layers %u) has %zu",
				 (unsigned long long) n, in, hid, layers, expect);
		return PZ_ECORRUPT;
	}
	/* expect <= 2^24, so this cannot overflow */
	if (len != PZ_LSTM_HEADER_BYTES + 8 * expect + 4)
	{
		snprintf(errmsg, PZ_ERRMSG_LEN,
				 "LSTM weights have %zu bytes, expected %zu",
				 len, PZ_LSTM_HEADER_BYTES + 8 * expect + 4);
		return PZ_ECORRUPT;
	}
	st = pz_lstm_create((int) in, (int) hid, (int) layers, &m, errmsg);
	if (st != PZ_OK)
		return st;
	m->window = (int) window;
	for (i = 0; i < expect; i++)
	{
		uint64_t	bits = get_u64(buf + PZ_LSTM_HEADER_BYTES + 8 * i);

		memcpy(&m->params[i], &bits, 8);
		if (!isfinite(m->params[i]))
		{
			pz_lstm_free(m);
			snprintf(errmsg, PZ_ERRMSG_LEN,
					 "LSTM weights corrupt: parameter %zu is not finite", i);
			return PZ_ECORRUPT;
		}
	}
	*out = m;
	return PZ_OK;
}
