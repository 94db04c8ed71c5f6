// Replay of a CloudTrail trail's S3 archive: the log files under s3://BUCKET/PREFIX listed page by page and each
// object's body streamed into the record decoder, never held whole. Which keys are listed: s3-layout.ts.
//
// The layout is AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_..._.json.gz, with
// digest files under CloudTrail-Digest/ beside CloudTrail/:
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html and
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html

import type { Readable } from 'node:stream';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { decodeRecordStream, InputStreamError } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';
import type { InputProgress } from '../replay/input-progress.ts';
import type { S3Api } from './s3-api.ts';
import type { TrailSelection } from './s3-layout.ts';
import { selectedKeys } from './s3-layout.ts';

export const S3_SCHEME = 's3://';

export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** `s3://BUCKET/PREFIX` (the prefix may be empty); undefined for anything else. */
export function parseS3Url(path: string): S3Location | undefined {
  if (!path.startsWith(S3_SCHEME)) return undefined;
  const rest = path.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (bucket === '') return undefined;
  return { bucket, prefix: slash < 0 ? '' : rest.slice(slash + 1) };
}

/** A function, so a check after an await is not narrowed away by one before it. */
const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

/** What a person reads: the S3 error code with its message, a cut stream, or the cause. */
function reason(error: unknown): string {
  if (error instanceof InputStreamError) return error.message;
  const named = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (named.name === 'NoSuchKey') return 'no such object (NoSuchKey)';
  if (named.name === 'AccessDenied') return 'access denied (AccessDenied): the reader needs s3:GetObject on it (and kms:Decrypt on an SSE-KMS trail)';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || named.message === 'aborted') return 'the connection dropped while reading it: what was read before is counted';
  if (named.$metadata?.httpStatusCode !== undefined) return `${named.name ?? 'error'} (HTTP ${named.$metadata.httpStatusCode}): ${named.message ?? ''}`;
  return named.message ?? String(error);
}

export interface S3ReplayOptions extends RecordStreamOptions {
  /** Accounts, regions and days (--trail-accounts, --trail-regions, --from/--to): nothing outside them is listed. */
  readonly selection?: TrailSelection;
  /** A resumable manifest's view of this location (its number among the replay's paths is `location`). */
  readonly progress?: InputProgress;
  readonly location?: number;
}

/** Every selected log file key under the location, in S3's order, after `after` (a resumed run). */
export function logFileKeys(api: S3Api, location: S3Location, selection: TrailSelection, after: string | undefined, signal?: AbortSignal): AsyncGenerator<string> {
  return selectedKeys((request) => api.listObjectsV2({ Bucket: location.bucket, ...request }, signal), location.prefix, selection, { after });
}

/**
 * Every record of every log file under `url`, file after file. An object that cannot be read or is cut short is
 * reported to `onError` after the records read from it, and the next goes on; a listing that fails ends this location.
 */
export async function* replayS3(url: string, api: S3Api, options: S3ReplayOptions, onError: (error: InputError) => void, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  const location = parseS3Url(url);
  if (location === undefined) {
    onError(new InputError(url, 'not an S3 location: give s3://BUCKET/PREFIX'));
    return;
  }
  const { progress, location: index = 0 } = options;
  if (progress?.locationDone(index) === true) return;
  try {
    for await (const key of logFileKeys(api, location, options.selection ?? {}, progress?.after(index), signal)) {
      if (aborted(signal)) return;
      if (progress?.skip(index, key) === true) continue;
      const name = `${S3_SCHEME}${location.bucket}/${key}`;
      try {
        const object = await api.getObject({ Bucket: location.bucket, Key: key }, signal);
        // In Node the body is the response stream (an IncomingMessage): its chunks go to the decoder as they arrive.
        for await (const batch of decodeRecordStream(object.Body as Readable, options)) yield batch;
      } catch (error) {
        if (aborted(signal)) return;
        onError(new InputError(name, reason(error)));
      }
      // Resumed here, the consumer has committed the last batch of this object: it is done.
      if (aborted(signal)) return;
      progress?.done(index, key);
    }
  } catch (error) {
    if (aborted(signal)) return;
    onError(new InputError(url, `cannot list it: ${reason(error)}`));
  }
}
