// Replay of a CloudTrail trail's S3 archive: the log files under s3://BUCKET/PREFIX listed page by page and each
// object's body streamed into the record decoder, never held whole.
//
// The layout is AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_..._.json.gz, with
// digest files under CloudTrail-Digest/ beside CloudTrail/:
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html and
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html

import type { Readable } from 'node:stream';
import type { RecordStreamOptions } from '../decode/record-stream.ts';
import { InputError } from '../errors.ts';
import type { RecordBatch } from '../record-batch.ts';
import type { ReplayInput } from '../replay/replay-input.ts';
import { decodeInput, InputFailure, readFailureReason } from '../replay/replay-input.ts';
import type { InputProgress } from '../replay/progress.ts';
import type { S3Api } from './s3-api.ts';

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

/** A CloudTrail log file: gzipped JSON, not a digest file (those are .json.gz too, under CloudTrail-Digest/). */
export function isLogFileKey(key: string): boolean {
  return key.endsWith('.json.gz') && !key.includes('/CloudTrail-Digest/');
}

/** A prefix that reaches the region level of the layout: AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION[/]. */
const REGION_LEVEL = /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]+\/)?\d{12}\/CloudTrail\/[a-z0-9-]+\/?$/;
/** The day a log file's key names. */
const KEY_DAY = /\/CloudTrail\/[a-z0-9-]+\/(\d{4})\/(\d{2})\/(\d{2})\//;

export interface DayRange {
  /** YYYY-MM-DD, inclusive. */
  readonly from?: string;
  /** YYYY-MM-DD, inclusive. */
  readonly to?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The prefixes to list: one per day of the range when the prefix reaches the region level and the range is bounded
 * on both sides (nothing outside it is listed), else the prefix itself (keys are then filtered by the day they name).
 */
export function listPrefixes(prefix: string, days: DayRange): string[] {
  if (days.from === undefined || days.to === undefined || !REGION_LEVEL.test(prefix)) return [prefix];
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const prefixes: string[] = [];
  for (let t = Date.parse(`${days.from}T00:00:00Z`); t <= Date.parse(`${days.to}T00:00:00Z`); t += DAY_MS) {
    prefixes.push(`${base}${new Date(t).toISOString().slice(0, 10).replaceAll('-', '/')}/`);
  }
  return prefixes;
}

/** Whether a key's day (when it names one) is inside the range. */
export function inDayRange(key: string, days: DayRange): boolean {
  const match = KEY_DAY.exec(key);
  if (match === null) return days.from === undefined && days.to === undefined;
  const day = `${match[1]}-${match[2]}-${match[3]}`;
  return (days.from === undefined || day >= days.from) && (days.to === undefined || day <= days.to);
}

/** Every log file key under the location (and inside the range), page by page in S3's order; each page's files told to `progress` as it comes. */
async function* logFileKeys(api: S3Api, location: S3Location, days: DayRange, signal: AbortSignal | undefined, progress: InputProgress | undefined): AsyncGenerator<string> {
  for (const prefix of listPrefixes(location.prefix, days)) {
    let token: string | undefined;
    do {
      const page = await api.listObjectsV2({ Bucket: location.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }, signal);
      const objects = (page.Contents ?? []).filter((object) => isLogFileKey(object.Key ?? '') && inDayRange(object.Key ?? '', days));
      progress?.known(objects.length, objects.reduce((sum, object) => sum + (object.Size ?? 0), 0));
      for (const object of objects) yield object.Key ?? '';
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

/** A function, so a check after an await is not narrowed away by one before it. */
const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

export interface S3ReplayOptions extends RecordStreamOptions {
  readonly days?: DayRange;
  /** Told each listed page's files and sizes, then the bytes as they are read and each object's end. */
  readonly progress?: InputProgress;
}

/**
 * Every log file under `url` (and inside the range) as a replay input, in S3's order; a listing that fails ends this
 * location with an `unlisted` input, so it is reported after the inputs listed before it.
 */
export async function* listS3Inputs(url: string, api: S3Api, options: Pick<S3ReplayOptions, 'days' | 'progress'>, signal?: AbortSignal): AsyncGenerator<ReplayInput> {
  const location = parseS3Url(url);
  if (location === undefined) {
    yield { kind: 'unlisted', name: url, reason: 'not an S3 location: give s3://BUCKET/PREFIX' };
    return;
  }
  try {
    for await (const key of logFileKeys(api, location, options.days ?? {}, signal, options.progress)) {
      yield { kind: 's3', name: `${S3_SCHEME}${location.bucket}/${key}`, bucket: location.bucket, key, size: undefined };
    }
  } catch (error) {
    if (aborted(signal)) return;
    yield { kind: 'unlisted', name: url, reason: `cannot list it: ${readFailureReason(error)}` };
  }
}

/** An S3 input's body: in Node the response stream (an IncomingMessage), whose chunks reach the decoder as they arrive. */
export async function openS3Object(api: S3Api, input: { readonly bucket: string; readonly key: string }, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
  const object = await api.getObject({ Bucket: input.bucket, Key: input.key }, signal);
  return object.Body as Readable;
}

/**
 * Every record of every log file under `url`, file after file, decoded here. An object that cannot be read or is cut
 * short is reported to `onError` after the records read from it, and the next goes on.
 */
export async function* replayS3(url: string, api: S3Api, options: S3ReplayOptions, onError: (error: InputError) => void, signal?: AbortSignal): AsyncGenerator<RecordBatch> {
  const { progress } = options;
  for await (const input of listS3Inputs(url, api, options, signal)) {
    if (aborted(signal)) return;
    if (input.kind === 'unlisted') onError(new InputError(input.name, input.reason));
    if (input.kind !== 's3') continue;
    try {
      const body = await openS3Object(api, input, signal);
      yield* decodeInput(input.name, body, { ...options, ends: true }, progress === undefined ? undefined : (bytes) => progress.read(bytes));
    } catch (error) {
      if (aborted(signal)) return;
      if (error instanceof InputFailure) {
          onError(error.error);
      } else onError(new InputError(input.name, readFailureReason(error)));
    } finally {
      progress?.inputDone();
    }
  }
}
