// A pure model of S3's ListObjectsV2 over a set of keys (prefix, delimiter, start-after, continuation tokens, pages),
// for in-process tests of what the archive reader lists; the wire-level fake (fake-s3/) is for the SDK in test/e2e.
// Semantics from https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html: keys in UTF-8 binary order
// (ASCII here), a common prefix counts as one entry of a page, and start-after applies before the roll-up.
import type { ListingPage, ListingRequest, ListObjects } from '../../src/sources/s3-layout.ts';

export interface ListingModel {
  readonly list: ListObjects;
  /** Each request as `prefix|delimiter|start-after` (empty fields for absent ones), continuation pages included. */
  readonly requests: string[];
}

export function listingModel(keys: Iterable<string>, pageSize = 1000): ListingModel {
  const sorted = [...new Set(keys)].sort();
  const requests: string[] = [];
  const list = async (request: ListingRequest): Promise<ListingPage> => {
    requests.push(`${request.Prefix}|${request.Delimiter ?? ''}|${request.StartAfter ?? ''}`);
    const delimiter = request.Delimiter ?? '';
    const after = request.ContinuationToken ?? request.StartAfter ?? '';
    const contents: { Key: string }[] = [];
    const prefixes: { Prefix: string }[] = [];
    let last = '';
    for (const key of sorted) {
      if (!key.startsWith(request.Prefix) || key <= after) continue;
      const rest = key.slice(request.Prefix.length);
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
      const common = cut < 0 ? undefined : request.Prefix + rest.slice(0, cut + delimiter.length);
      if (common !== undefined && (common <= after || prefixes.at(-1)?.Prefix === common)) continue;
      if (contents.length + prefixes.length >= pageSize) return { Contents: contents, CommonPrefixes: prefixes, IsTruncated: true, NextContinuationToken: last };
      if (common === undefined) {
        contents.push({ Key: key });
        last = key;
      } else {
        prefixes.push({ Prefix: common });
        last = `${common}\u{10FFFF}`;
      }
    }
    return { Contents: contents, CommonPrefixes: prefixes, IsTruncated: false };
  };
  return { list, requests };
}
