/* CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78), the
 * checksum of every replication-log record and of the state file.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time) and a slicing-by-8 table otherwise; both give identical results.
 */
#ifndef RECALL_SHARED_CRC32C_H
#define RECALL_SHARED_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend `crc` (0 to start) over n bytes at p and return the new value, so
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a||b, na + nb).
 * crc32c(0, "123456789", 9) == 0xE3069283.  Thread-safe. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

/* The portable table implementation, exposed so tests can compare it with
 * the hardware path. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);

/* Whether crc32c() uses the hardware instruction on this CPU. */
int crc32c_hw_available(void);

#endif
