// Seeded pseudo-random numbers (mulberry32), so faults, empty pages and sampling replay identically for a seed.

/** Returns floats in [0, 1), like Math.random. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One independent stream per purpose, so that e.g. the throttle decisions depend only on
 * the sequence of calls and not on how many pages or live-tail samples happened in between.
 */
export function randomStreams(seed: number): {
  faults: Random;
  pages: Random;
  sampling: Random;
  tokens: Random;
} {
  return {
    faults: seededRandom(seed ^ 0x9e3779b9),
    pages: seededRandom(seed ^ 0x85ebca6b),
    sampling: seededRandom(seed ^ 0xc2b2ae35),
    tokens: seededRandom(seed ^ 0x27d4eb2f),
  };
}

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** An opaque string shaped like real CloudWatch Logs tokens (long base64url). */
export function randomToken(random: Random, length = 56): string {
  let out = '';
  for (let i = 0; i < length; i++) out += TOKEN_ALPHABET[Math.floor(random() * TOKEN_ALPHABET.length)];
  return out;
}
