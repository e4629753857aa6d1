/* Small helpers shared by every binary: clocks, randomness, hashing, hex, string checks. */
#ifndef VIBN_UTIL_H
#define VIBN_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Milliseconds (and microseconds) on CLOCK_MONOTONIC: for deadlines and durations. */
int64_t util_now_ms(void);
int64_t util_now_us(void);

/* Fills buf from the OS's random source (getrandom); fatal if the kernel refuses. */
void util_random_bytes(void *buf, size_t len);
/* A uniformly distributed double in [0, 1), from a per-thread generator seeded by the OS. */
double util_random_unit(void);

/* SHA-256 of data into out[32]; and as 64 lower-case hex chars plus NUL into hex[65]. */
void util_sha256(const void *data, size_t len, unsigned char out[32]);
void util_sha256_hex(const void *data, size_t len, char hex[65]);
/* HMAC-SHA256 of data with key, as 64 lower-case hex chars plus NUL. */
void util_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                          char hex[65]);
/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void util_hex(const unsigned char *in, size_t len, char *out);
/* Constant-time equality of two byte strings of the same length (0 when lengths differ). */
int util_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* 1 when a and b are the same string or both NULL: for values where NULL (unset) and ""
 * are different things, such as database columns. */
int util_str_eq_null(const char *a, const char *b);
/* 1 when a and b are the same string, NULL counting as "": for upstream fields, which show
 * an unset string as "" or leave it out. */
int util_str_eq_empty(const char *a, const char *b);

/* Parses a whole decimal integer in [min, max]; 0 on success, -1 otherwise. */
int util_parse_long(const char *s, long min, long max, long *out);

/* Wipes a secret string (a token, a header carrying one) and frees it; NULL does nothing. */
void util_free_secret(char *s);

#endif
