/*
 * fuzz_lstm.c — libFuzzer harness for the LSTM weights deserialiser and the
 * forward pass.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
 *       test/fuzz/fuzz_lstm.c <every src/core .c file> -lgsl -lgslcblas -lm
 *   ./a.out -max_total_time=60 -max_len=4096 test/fuzz/corpus/lstm
 *
 * Input: one mode byte, then the blob.  With the low bit of the mode byte
 * set, the harness first rewrites the blob's trailing CRC-32 so that the
 * fuzzer gets past the checksum and exercises the header and size checks;
 * otherwise the blob is taken as is (checksum, truncation, magic paths).
 * Whatever deserialises must have sane sizes, serialise back to the same
 * bytes, and run forward on a small window without a fault (huge but
 * finite weights may legitimately give a NaN output: inf - inf).
 *
 * The seed corpus holds valid blobs of a few shapes (made with Python's
 * struct + zlib.crc32, an independent writer of the documented format),
 * prefixed with mode 0 or 1.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lstm.h"
#include "pz_crc32.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		errmsg[PZ_ERRMSG_LEN];
	unsigned char *blob;
	size_t		len;
	pz_lstm    *m = NULL;
	pz_status	st;

	if (size < 1)
		return 0;
	len = size - 1;
	/* an exact-size copy so that ASan sees any read past the end */
	blob = malloc(len ? len : 1);
	if (blob == NULL)
		return 0;
	memcpy(blob, data + 1, len);
	if ((data[0] & 1) && len >= 4)
	{
		uint32_t	c = pz_crc32(0, blob, len - 4);

		blob[len - 4] = (unsigned char) c;
		blob[len - 3] = (unsigned char) (c >> 8);
		blob[len - 2] = (unsigned char) (c >> 16);
		blob[len - 1] = (unsigned char) (c >> 24);
	}
	st = pz_lstm_deserialize(blob, len, &m, errmsg);
	if (st == PZ_OK)
	{
		size_t		n2 = pz_lstm_serialized_size(m);
		unsigned char *again = malloc(n2);
		int			T = 3,
					B = 2,
					k;
		size_t		nx = (size_t) B * T * m->input_size;
		double	   *x = malloc(nx * sizeof(double));
		double		y[2];
		pz_lstm_data d;

		if (m->input_size < 1 || m->hidden_size < 1 || m->num_layers < 1 ||
			m->n_params != pz_lstm_param_count(m->input_size, m->hidden_size,
											   m->num_layers))
			abort();
		if (again)
		{
			pz_lstm_serialize(m, again);
			if (n2 != len || memcmp(again, blob, len) != 0)
				abort();
			free(again);
		}
		if (x)
		{
			for (k = 0; k < (int) nx; k++)
				x[k] = sin(0.7 * k);
			d.n = B;
			d.T = T;
			d.F = m->input_size;
			d.x = x;
			d.y = NULL;
			d.w = NULL;
			if (pz_lstm_predict(m, &d, y, NULL, errmsg) != PZ_OK)
				abort();
			free(x);
		}
		pz_lstm_free(m);
	}
	else if (m != NULL || errmsg[0] == '\0')
		abort();				/* failures must say why and leak nothing */
	free(blob);
	return 0;
}
