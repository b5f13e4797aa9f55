/* sha256.h - SHA-256 (FIPS 180-4), for naming token store entries without revealing the
 * refresh token they belong to. Pure. */
#ifndef ZLOCK_SHA256_H
#define ZLOCK_SHA256_H
#include <stddef.h>
#include <stdint.h>

/* Hex digest (64 characters + NUL) of the concatenation of n strings, each followed by '\n'. */
void zl_sha256_hex(const char *const *parts, size_t n, char out[65]);

#endif
