/*
 * pz_crc32.c — table-driven CRC-32 (IEEE); see pz_crc32.h.
 */
#include "pz_crc32.h"

static uint32_t crc_table[256];
static int	crc_table_ready = 0;

static void
crc_init(void)
{
	uint32_t	n;

	for (n = 0; n < 256; n++)
	{
		uint32_t	c = n;
		int			k;

		for (k = 0; k < 8; k++)
			c = (c & 1) ? (UINT32_C(0xEDB88320) ^ (c >> 1)) : (c >> 1);
		crc_table[n] = c;
	}
	/* idempotent: a racing second initialiser writes the same values */
	crc_table_ready = 1;
}

uint32_t
pz_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t	c = crc ^ UINT32_C(0xFFFFFFFF);

	if (!crc_table_ready)
		crc_init();
	while (len--)
		c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ UINT32_C(0xFFFFFFFF);
}
