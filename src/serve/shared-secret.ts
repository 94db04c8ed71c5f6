// A secret a push sender presents (Firehose's access key, an EventBridge connection's API key or basic credentials), compared in constant time.

import { createHash, timingSafeEqual } from 'node:crypto';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Holds the expected value only as its SHA-256 digest and compares digests: equal lengths for
 * timingSafeEqual, and no early exit on a length mismatch that would tell a sender how long the secret is.
 */
export class SharedSecret {
  private readonly expected: Buffer;

  constructor(value: string) {
    this.expected = digest(value);
  }

  matches(given: string): boolean {
    return timingSafeEqual(digest(given), this.expected);
  }
}
