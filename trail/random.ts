// Seeded pseudo-random numbers (mulberry32) for everything synthetic: trails, the fake AWS services' faults, chaos schedules.
//
// One generator for tests, benchmarks and examples, so that a seed means the same thing everywhere and
// a failing run can be replayed from the seed it printed. Never Math.random: it cannot be replayed.

/** Items with relative weights; a weight of 0 is never picked. */
export type WeightTable<T> = readonly (readonly [weight: number, item: T])[];

const HEX = '0123456789abcdef';
/** The alphabet of AWS access key ids and role ids after their 4-letter prefix. */
export const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** base64url: what opaque AWS pagination tokens look like. */
export const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export class Random {
  /** The seed this stream started from (as an unsigned 32-bit integer). */
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = this.seed;
  }

  /**
   * An independent stream for one purpose, derived from this stream's seed and the name only, so
   * that e.g. the throttle decisions of a fake depend on the sequence of calls and not on how many
   * pages were drawn in between, and adding a stream never shifts another.
   */
  stream(name: string): Random {
    return new Random(finalMix(this.seed ^ fnv1a(name)));
  }

  /** 32 random bits, as an unsigned integer. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1), like Math.random. */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [min, max], both included. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  weighted<T>(table: WeightTable<T>): T {
    let total = 0;
    for (const [weight] of table) total += weight;
    let r = this.float() * total;
    for (const [weight, item] of table) {
      r -= weight;
      if (r < 0) return item;
    }
    const last = table[table.length - 1];
    if (last === undefined) throw new Error('weighted pick from an empty table');
    return last[1];
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** A uniform sample of `size` items (all of them when fewer), kept in their original order. */
  sample<T>(items: readonly T[], size: number): T[] {
    const indexes = items.map((_, i) => i);
    const n = Math.min(size, indexes.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(indexes.length - i);
      [indexes[i], indexes[j]] = [indexes[j]!, indexes[i]!];
    }
    return indexes
      .slice(0, n)
      .sort((a, b) => a - b)
      .map((i) => items[i]!);
  }

  /** `length` characters drawn uniformly from `alphabet`. */
  chars(length: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** Lower-case hexadecimal digits. */
  hex(length: number): string {
    return this.chars(length, HEX);
  }

  /** A version 4 UUID, as CloudTrail's eventID and requestID are. */
  uuid(): string {
    // 32 hex digits are drawn (the version digit's and the variant digit's included, then replaced), then the variant.
    let head = '';
    for (let i = 0; i < 16; i++) head += i === 12 ? (this.int(16), '4') : HEX[this.int(16)];
    this.int(16);
    let tail = '';
    for (let i = 17; i < 32; i++) tail += HEX[this.int(16)];
    const variant = '89ab'[this.int(4)] ?? '8';
    return `${head.slice(0, 8)}-${head.slice(8, 12)}-${head.slice(12, 16)}-${variant}${tail.slice(0, 3)}-${tail.slice(3)}`;
  }

  /** An opaque token shaped like real AWS pagination tokens (long base64url). */
  token(length = 56): string {
    return this.chars(length, TOKEN_ALPHABET);
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** murmur3's finaliser: nearby seeds (seed, seed ^ 1) give unrelated streams. */
function finalMix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
