// A fake S3 endpoint speaking the REST-XML protocol @aws-sdk/client-s3 uses with `forcePathStyle: true`:
// ListObjectsV2 and GetObject (streamed, with ranges), S3's XML error bodies, and scripted faults.
//
// Shapes from the S3 API reference: ListObjectsV2 https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
// GetObject https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, error responses
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (an <Error> document with Code, Message, RequestId, HostId).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type S3Operation = 'ListObjectsV2' | 'GetObject';

/**
 * A scripted fault: S3's throttle (503 SlowDown), a 500 InternalError, a 403 AccessDenied, a 404 NoSuchKey (an object
 * listed, then expired by a lifecycle rule before it was read), or a body cut after `cut` bytes.
 */
export type S3Fault = 'SlowDown' | 'InternalError' | 'AccessDenied' | 'NoSuchKey' | { readonly cut: number };

export interface FakeS3Api {
  putObject(bucket: string, key: string, body: Buffer, lastModified?: Date): void;
  /** GetObject of this key answers 403 AccessDenied (a bucket policy or KMS key the reader may not use). */
  denyObject(bucket: string, key: string): void;
  /** The next `times` calls of `operation` ('*' for any) get `fault`. */
  failNext(operation: S3Operation | '*', fault: S3Fault, times?: number): void;
  /** Each request as `OPERATION status` with its query or key, in order. */
  requests(): readonly string[];
}

export interface FakeS3 {
  /** http://127.0.0.1:PORT — pass as the client's `endpoint`, with `forcePathStyle: true`. */
  readonly endpoint: string;
  readonly api: FakeS3Api;
  close(): Promise<void>;
}

interface StoredObject {
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: Date;
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** S3 answers at most 1,000 keys per page whatever max-keys asks. */
const MAX_KEYS = 1000;
/** Bodies are written in chunks of this size, so a client sees a stream, not one write. */
const BODY_CHUNK = 16 * 1024;

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
const element = (name: string, value: string | number | boolean): string => `<${name}>${escapeXml(String(value))}</${name}>`;

class S3Error extends Error {
  readonly status: number;
  readonly code: string;
  readonly extra: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, extra: Readonly<Record<string, string>> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

const FAULTS: Readonly<Record<string, () => S3Error>> = {
  SlowDown: () => new S3Error(503, 'SlowDown', 'Please reduce your request rate.'),
  InternalError: () => new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  AccessDenied: () => new S3Error(403, 'AccessDenied', 'Access Denied'),
  NoSuchKey: () => new S3Error(404, 'NoSuchKey', 'The specified key does not exist.'),
};

function sendError(res: ServerResponse, error: S3Error, requestId: string, head: boolean): void {
  const body = `${XML_DECLARATION}<Error>${element('Code', error.code)}${element('Message', error.message)}${Object.entries(error.extra).map(([k, v]) => element(k, v)).join('')}${element('RequestId', requestId)}${element('HostId', randomBytes(24).toString('base64'))}</Error>`;
  res.writeHead(error.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` against `size`; undefined when unsatisfiable. */
function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return { start: 0, end: size - 1 }; // S3 ignores a Range it cannot parse
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { start: 0, end: size - 1 };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return undefined;
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

export interface FakeS3Options {
  /** Most keys per ListObjectsV2 page whatever max-keys asks; S3's is 1,000. Lower it to page small buckets. */
  readonly pageSize?: number;
  /** Each GetObject answers after this long (ms): a slow bucket, so a replay can be stopped midway. */
  readonly getDelayMs?: number;
}

export async function startFakeS3(options: FakeS3Options = {}): Promise<FakeS3> {
  const pageSize = options.pageSize ?? MAX_KEYS;
  const buckets = new Map<string, Map<string, StoredObject>>();
  const denied = new Set<string>();
  const scripted: { operation: S3Operation | '*'; fault: S3Fault; times: number }[] = [];
  const log: string[] = [];

  const nextFault = (operation: S3Operation): S3Fault | undefined => {
    const index = scripted.findIndex((s) => s.operation === '*' || s.operation === operation);
    if (index < 0) return undefined;
    const entry = scripted[index]!;
    if (--entry.times <= 0) scripted.splice(index, 1);
    return entry.fault;
  };

  function listObjectsV2(bucket: string, objects: Map<string, StoredObject>, query: URLSearchParams, res: ServerResponse, requestId: string): void {
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const startAfter = query.get('start-after') ?? '';
    const token = query.get('continuation-token');
    const maxKeysText = query.get('max-keys');
    const maxKeys = maxKeysText === null ? MAX_KEYS : Number(maxKeysText);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: maxKeysText ?? '' });
    let after = startAfter;
    if (token !== null) {
      // Real tokens are opaque; ours carry the last key returned, and a forged one is refused as S3 does.
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!decoded.startsWith('k:')) throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      after = decoded.slice(2);
    }
    const keys = [...objects.keys()].filter((key) => key.startsWith(prefix) && key > after).sort();
    const contents: string[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const key of keys) {
      const rest = key.slice(prefix.length);
      const cut = delimiter === '' ? -1 : rest.indexOf(delimiter);
      const common = cut < 0 ? undefined : prefix + rest.slice(0, cut + delimiter.length);
      if (common !== undefined && common <= after) continue; // rolled into a prefix already returned
      if (common !== undefined && prefixes.at(-1) === common) continue;
      if (contents.length + prefixes.length >= Math.min(maxKeys, pageSize)) {
        truncated = true;
        break;
      }
      if (common === undefined) {
        contents.push(key);
        last = key;
      } else {
        prefixes.push(common);
        // Everything under the common prefix sorts before this marker's successors.
        last = `${common}\u{10FFFF}`;
      }
    }
    const body = [
      XML_DECLARATION,
      `<ListBucketResult xmlns="${NAMESPACE}">`,
      element('Name', bucket),
      element('Prefix', prefix),
      ...(token === null ? [] : [element('ContinuationToken', token)]),
      ...(truncated ? [element('NextContinuationToken', Buffer.from(`k:${last}`).toString('base64url'))] : []),
      element('KeyCount', contents.length + prefixes.length),
      element('MaxKeys', maxKeys),
      ...(delimiter === '' ? [] : [element('Delimiter', delimiter)]),
      element('IsTruncated', truncated),
      ...(startAfter === '' ? [] : [element('StartAfter', startAfter)]),
      ...contents.map((key) => {
        const object = objects.get(key)!;
        return `<Contents>${element('Key', key)}${element('LastModified', object.lastModified.toISOString())}${element('ETag', object.etag)}${element('Size', object.body.length)}${element('StorageClass', 'STANDARD')}</Contents>`;
      }),
      ...prefixes.map((common) => `<CommonPrefixes>${element('Prefix', common)}</CommonPrefixes>`),
      '</ListBucketResult>',
    ].join('');
    res.writeHead(200, { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  function getObject(bucket: string, key: string, req: IncomingMessage, res: ServerResponse, requestId: string, cut: number | undefined): void {
    const object = buckets.get(bucket)?.get(key);
    if (object === undefined) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (denied.has(`${bucket}/${key}`)) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    const size = object.body.length;
    const rangeHeader = req.headers.range;
    const range = rangeHeader === undefined ? { start: 0, end: size - 1 } : parseRange(rangeHeader, size);
    if (range === undefined) throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size), RangeRequested: rangeHeader ?? '' });
    const slice = object.body.subarray(range.start, range.end + 1);
    res.writeHead(rangeHeader === undefined ? 200 : 206, {
      'content-type': 'application/octet-stream',
      'content-length': slice.length,
      etag: object.etag,
      'last-modified': object.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      'x-amz-request-id': requestId,
      ...(rangeHeader === undefined ? {} : { 'content-range': `bytes ${range.start}-${range.end}/${size}` }),
    });
    const limit = cut ?? slice.length;
    let offset = 0;
    const pump = (): void => {
      while (offset < Math.min(limit, slice.length)) {
        const chunk = slice.subarray(offset, Math.min(offset + BODY_CHUNK, limit));
        offset += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      // The connection drops mid-body, once the headers and the first bytes have reached the client.
      if (limit < slice.length) {
        log.push(`GetObject ${res.statusCode} ${key} (cut)`);
        setTimeout(() => res.destroy(), 20);
      }
      else res.end();
    };
    pump();
  }

  const server = createServer((req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket = '', ...keyParts] = url.pathname.split('/');
    const key = keyParts.map(decodeURIComponent).join('/');
    const operation: S3Operation | undefined = req.method === 'GET' && key === '' && url.searchParams.get('list-type') === '2' ? 'ListObjectsV2' : req.method === 'GET' && key !== '' ? 'GetObject' : undefined;
    req.resume();
    let status = 200;
    res.on('finish', () => log.push(`${operation ?? req.method} ${status} ${operation === 'GetObject' ? key : url.search}`));
    try {
      if (operation === undefined) throw new S3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
      const fault = nextFault(operation);
      if (typeof fault === 'string') throw FAULTS[fault]!();
      const objects = buckets.get(decodeURIComponent(bucket));
      if (objects === undefined) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
      if (operation === 'ListObjectsV2') listObjectsV2(bucket, objects, url.searchParams, res, requestId);
      else if (options.getDelayMs !== undefined) {
        setTimeout(() => {
          try {
            getObject(bucket, key, req, res, requestId, fault?.cut);
            status = res.statusCode;
          } catch (error) {
            if (!(error instanceof S3Error)) throw error;
            status = error.status;
            sendError(res, error, requestId, false);
          }
        }, options.getDelayMs);
      } else getObject(bucket, key, req, res, requestId, fault?.cut);
      status = res.statusCode;
    } catch (error) {
      if (!(error instanceof S3Error)) throw error;
      status = error.status;
      sendError(res, error, requestId, req.method === 'HEAD');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const api: FakeS3Api = {
    putObject(bucket, key, body, lastModified = new Date('2026-11-20T09:00:00Z')) {
      let objects = buckets.get(bucket);
      if (objects === undefined) buckets.set(bucket, (objects = new Map()));
      objects.set(key, { body, lastModified, etag: `"${createHash('md5').update(body).digest('hex')}"` });
    },
    denyObject(bucket, key) {
      denied.add(`${bucket}/${key}`);
    },
    failNext(operation, fault, times = 1) {
      scripted.push({ operation, fault, times });
    },
    requests: () => [...log],
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    api,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
