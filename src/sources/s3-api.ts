// The two S3 calls the archive replay makes, as a narrow interface over the SDK client.

import type { GetObjectCommandInput, GetObjectCommandOutput, ListObjectsV2CommandInput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

export interface S3Api {
  listObjectsV2(input: ListObjectsV2CommandInput, signal?: AbortSignal): Promise<ListObjectsV2CommandOutput>;
  getObject(input: GetObjectCommandInput, signal?: AbortSignal): Promise<GetObjectCommandOutput>;
}

export function s3Api(client: S3Client): S3Api {
  return {
    listObjectsV2: (input, signal) => client.send(new ListObjectsV2Command(input), signal === undefined ? {} : { abortSignal: signal }),
    getObject: (input, signal) => client.send(new GetObjectCommand(input), signal === undefined ? {} : { abortSignal: signal }),
  };
}
