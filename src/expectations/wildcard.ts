// IAM-style wildcard patterns (`*` any run of characters, `/` and `:` included; `?` one character), matched without regular expressions.

/**
 * Why not a shell glob library: in an ARN, `*` must cross `/` and `:`
 * (`arn:aws:iam::*:role/ci/*` is how IAM's own StringLike reads it), which picomatch
 * and minimatch never do. Why not a RegExp: a pattern with several `*` against a long
 * user agent backtracks polynomially; this greedy two-pointer match is O(pattern × text)
 * in the worst case and linear in the usual one.
 */
export type Wildcard = (text: string) => boolean;

export function compileWildcard(pattern: string): Wildcard {
  if (!pattern.includes('*') && !pattern.includes('?')) return (text) => text === pattern;
  return (text) => wildcardMatch(pattern, text);
}

export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where the last `*` was, and the text position it has swallowed up to.
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = t;
    } else if (c !== undefined && (c === '?' || c === text[t])) {
      p++;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
