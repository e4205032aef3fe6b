/*
 * Glob matching with Redis semantics (the rules of KEYS / SCAN MATCH), so the memory backend and the Redis
 * backend agree on what a template matches:
 *   *      any sequence of bytes          ?      any single byte
 *   [abc]  one of a, b, c                 [^a]   any byte but a
 *   [a-z]  a range (bounds in either order, compared as signed char like Redis)
 *   \x     the byte x itself, also inside [..]
 * An unterminated [ class ends at the end of the pattern, as in Redis. Matching is iterative (star
 * backtracking), O(len(pattern) * len(string)) at worst: no pattern can make it exponential.
 */
#ifndef LIBDBR_GLOB_H_
#define LIBDBR_GLOB_H_

#include <stddef.h>

/** 1 if str[0..slen) matches pattern[0..plen), else 0. */
int glob_match(const char *pattern, size_t plen, const char *str, size_t slen);

/**
 * Escapes s[0..len) so that, as a pattern, it matches exactly s: a backslash goes before each of * ? [ ] \.
 * out needs room for 2 * len + 1 bytes; it is NUL-terminated. Returns the escaped length.
 */
size_t glob_escape(const char *s, size_t len, char *out);

/**
 * If the pattern matches exactly one string (no unescaped * ? or [), writes that string to out (room for
 * plen + 1 bytes, NUL-terminated), sets *outlen and returns 1. Otherwise returns 0.
 */
int glob_literal(const char *pattern, size_t plen, char *out, size_t *outlen);

#endif /* LIBDBR_GLOB_H_ */
