/**
 * Glob patterns as the Data Broker reads them (`*`, `?`, `[abc]`, `[!a-z]`, `\` escapes), turned into regular
 * expressions for matching schema registrations and queue names in JS.
 * @module
 */

const cache = new Map<string, RegExp>();

/** A RegExp matching exactly the strings the glob matches. */
export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit !== undefined) return hit;
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i] as string);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escapeRe(c);
  }
  const out = new RegExp(`${re}$`, 'u');
  if (cache.size > 1000) cache.clear();
  cache.set(glob, out);
  return out;
}

/** True if `text` matches the glob. */
export function globMatch(glob: string, text: string): boolean {
  return globToRegExp(glob).test(text);
}

/** Escapes glob metacharacters so the text matches itself only. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (m) => `\\${m}`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, (m) => `\\${m}`);
}
