// Replay of a CloudTrail trail's S3 archive: the log files under s3://BUCKET/PREFIX listed page by page and each
// object's body streamed into the record decoder, never held whole. Which keys are listed: s3-layout.ts.
//
// The layout is AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_..._.json.gz, with
// digest files under CloudTrail-Digest/ beside CloudTrail/:
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html and
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html

import type { Readable } from 'node:stream';
import type { ResumeState } from '../replay/input-progress.ts';
import type { InputProgress } from '../replay/progress.ts';
import type { ReplayInput } from '../replay/replay-input.ts';
import { readFailureReason } from '../replay/replay-input.ts';
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
/** A function, so a check after an await is not narrowed away by one before it. */
const aborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

export interface S3ReplayOptions {
  /** Accounts, regions and days (--trail-accounts, --trail-regions, --from/--to): nothing outside them is listed. */
  readonly selection?: TrailSelection;
  /** Told each listed page's selected files and their sizes. */
  readonly progress?: InputProgress;
  /** A resumable manifest's view of this location (its number among the replay's paths is `location`). */
  readonly resume?: ResumeState;
  readonly location?: number;
}

/** Every selected log file key under the location, in S3's order, after `after` (a resumed run); each page's selected files told to `onPage`. */
export function logFileKeys(api: S3Api, location: S3Location, selection: TrailSelection, after: string | undefined, signal?: AbortSignal, onPage?: (files: number, bytes: number) => void): AsyncGenerator<string> {
  return selectedKeys((request) => api.listObjectsV2({ Bucket: location.bucket, ...request }, signal), location.prefix, selection, { after, ...(onPage === undefined ? {} : { onPage }) });
}

/**
 * Every selected log file under `url` as a replay input, in S3's order, from where a resumed run stopped; a listing
 * that fails ends this location with an `unlisted` input, so it is reported after the inputs listed before it.
 */
export async function* listS3Inputs(url: string, api: S3Api, options: S3ReplayOptions, signal?: AbortSignal): AsyncGenerator<ReplayInput> {
  const { progress, resume, location: index = 0 } = options;
  const location = parseS3Url(url);
  if (location === undefined) {
    yield { kind: 'unlisted', name: url, reason: 'not an S3 location: give s3://BUCKET/PREFIX', location: index };
    return;
  }
  if (resume?.locationDone(index) === true) return;
  try {
    const onPage = progress === undefined ? undefined : (files: number, bytes: number) => progress.known(files, bytes);
    for await (const key of logFileKeys(api, location, options.selection ?? {}, resume?.after(index), signal, onPage)) {
      yield { kind: 's3', name: `${S3_SCHEME}${location.bucket}/${key}`, bucket: location.bucket, key, size: undefined, location: index };
    }
  } catch (error) {
    if (aborted(signal)) return;
    yield { kind: 'unlisted', name: url, reason: `cannot list it: ${readFailureReason(error)}`, location: index };
  }
}

/** An S3 input's body: in Node the response stream (an IncomingMessage), whose chunks reach the decoder as they arrive. */
export async function openS3Object(api: S3Api, input: { readonly bucket: string; readonly key: string }, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
  const object = await api.getObject({ Bucket: input.bucket, Key: input.key }, signal);
  return object.Body as Readable;
}
