/*
 * Glob matching with Redis semantics: see glob.h. The token rules mirror Redis's stringmatchlen() (util.c),
 * including its treatment of unterminated classes and of ranges such as [a-]; the search over '*' is the
 * classic greedy algorithm that only ever backtracks to the last star, which is equivalent for patterns whose
 * other tokens each match exactly one byte.
 */
#include "glob.h"

#include <stdint.h>

/* Byte i of the pattern, or NUL past its end (Redis reads the C string's terminator there). */
static inline char at(const char *p, size_t n, size_t i)
{
  return i < n ? p[i] : '\0';
}

/* Matches the token at p[0..n) (n > 0, p[0] != '*') against byte c. Sets *len to the token's length. */
static int match_token(const char *p, size_t n, char c, size_t *len)
{
  switch (p[0]) {
  case '?':
    *len = 1;
    return 1;
  case '\\':
    if (n >= 2) {
      *len = 2;
      return p[1] == c;
    }
    *len = 1;
    return c == '\\';
  case '[': {
    size_t i = 1;
    int neg = 0, match = 0;
    if (at(p, n, i) == '^') {
      neg = 1;
      i++;
    }
    for (;;) {
      size_t rem = n > i ? n - i : 0;
      if (at(p, n, i) == '\\' && rem >= 2) {
        i++;
        if (p[i] == c) match = 1;
      } else if (at(p, n, i) == ']') {
        break;
      } else if (rem == 0) {
        i--; /* unterminated class: it ends with the pattern */
        break;
      } else if (rem >= 3 && p[i + 1] == '-') {
        int lo = (signed char)p[i], hi = (signed char)p[i + 2], ch = (signed char)c;
        if (lo > hi) {
          int t = lo;
          lo = hi;
          hi = t;
        }
        if (ch >= lo && ch <= hi) match = 1;
        i += 2;
      } else if (p[i] == c) {
        match = 1;
      }
      i++;
    }
    *len = i + 1;
    return neg ? !match : match;
  }
  default:
    *len = 1;
    return p[0] == c;
  }
}

int glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
  size_t pi = 0, si = 0;
  size_t star_pi = SIZE_MAX, star_si = 0;
  while (si < slen) {
    if (pi < plen && p[pi] == '*') {
      while (pi < plen && p[pi] == '*') pi++;
      if (pi == plen) return 1;
      star_pi = pi;
      star_si = si;
      continue;
    }
    if (pi < plen) {
      size_t tl;
      if (match_token(p + pi, plen - pi, s[si], &tl)) {
        pi += tl;
        si++;
        continue;
      }
    }
    if (star_pi == SIZE_MAX) return 0;
    si = ++star_si;
    pi = star_pi;
  }
  while (pi < plen && p[pi] == '*') pi++;
  return pi == plen;
}

size_t glob_escape(const char *s, size_t len, char *out)
{
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out[o++] = '\\';
    out[o++] = c;
  }
  out[o] = '\0';
  return o;
}

int glob_literal(const char *p, size_t plen, char *out, size_t *outlen)
{
  size_t o = 0;
  for (size_t i = 0; i < plen; i++) {
    char c = p[i];
    if (c == '*' || c == '?' || c == '[') return 0;
    if (c == '\\' && i + 1 < plen) c = p[++i];
    out[o++] = c;
  }
  out[o] = '\0';
  *outlen = o;
  return 1;
}
