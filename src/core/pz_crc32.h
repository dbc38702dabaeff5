/*
 * pz_crc32.h — CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the
 * checksum of zlib, PNG and gzip: pz_crc32(0, "123456789", 9) == 0xCBF43926.
 */
#ifndef PZ_CRC32_H
#define PZ_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: pass 0 to start; feed the result back to extend it. */
uint32_t	pz_crc32(uint32_t crc, const void *buf, size_t len);

#endif							/* PZ_CRC32_H */
