// A fake AWS KMS endpoint for TagResource, speaking the real wire protocol (awsJson1_1, SigV4 headers, modeled errors), whose calls become CloudTrail records.
//
// KMS is `TrentService` on the wire: POST / with `X-Amz-Target: TrentService.TagResource`, a JSON 1.1 body
// `{"KeyId":…,"Tags":[{"TagKey":…,"TagValue":…}]}`, answered 200 with an empty body, or 400/500 with
// `{"__type":"NotFoundException","message":…}` (https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
// lists the errors: NotFoundException, InvalidArnException, KMSInvalidStateException, TagException, LimitExceededException,
// KMSInternalException, DependencyTimeoutException). Each accepted call — and each call KMS refuses after authenticating
// it — is handed to `trail` as the CloudTrail record CloudTrail would write, so a test can deliver it into the
// CloudWatch Logs fake after a delay, or not at all (a stopped trail).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';

class KmsError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** What the fake does to the next calls: a modeled error, a status without a body the SDK knows, a dropped connection, a slow answer. */
export type KmsFault =
  | { readonly kind: 'error'; readonly code: string; readonly status?: number; readonly message?: string }
  | { readonly kind: 'drop' }
  | { readonly kind: 'slow'; readonly ms: number };

export interface FakeKmsOptions {
  readonly accountId?: string;
  readonly region?: string;
  /** Called with the CloudTrail record of each authenticated call, in order. */
  readonly trail?: (record: Record<string, unknown>) => void;
  readonly now?: () => number;
}

export interface FakeKms {
  /** http://127.0.0.1:PORT — the KMS endpoint (AWS_ENDPOINT_URL_KMS). */
  readonly endpoint: string;
  /** Creates a key (Enabled) and returns its ARN. */
  createKey(keyId?: string, state?: KeyState): string;
  setKeyState(keyId: string, state: KeyState): void;
  /** The key's tags now. */
  tags(keyId: string): Readonly<Record<string, string>>;
  /** The next `times` TagResource calls get `fault`. */
  failNext(fault: KmsFault, times?: number): void;
  /** Every call received: operation, HTTP status answered. */
  calls(): readonly { readonly operation: string; readonly status: number }[];
  close(): Promise<void>;
}

interface Key {
  readonly arn: string;
  state: KeyState;
  readonly tags: Map<string, string>;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) reject(new KmsError('ValidationException', 'Request body too large.'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, requestId: string, status: number, body: unknown, errorType?: string): void {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': payload.length,
    'x-amzn-RequestId': requestId,
    ...(errorType === undefined ? {} : { 'x-amzn-ErrorType': errorType }),
  });
  res.end(payload);
}

/** The caller, from the SigV4 credential: the access key id names who made the call in CloudTrail. */
function authenticate(req: IncomingMessage, region: string): string {
  const authorization = req.headers['authorization'];
  if (typeof authorization !== 'string' || authorization === '') throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const scope = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(authorization);
  if (scope === null) throw new KmsError('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature.');
  if (typeof req.headers['x-amz-date'] !== 'string') throw new KmsError('IncompleteSignatureException', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (scope[4] !== 'kms') throw new KmsError('InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");
  if (scope[3] !== region) throw new KmsError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${scope[3]}'.`);
  if (!scope[5]!.split(';').includes('x-amz-target')) throw new KmsError('InvalidSignatureException', 'x-amz-target must be signed.');
  return scope[1]!;
}

export async function startFakeKms(options: FakeKmsOptions = {}): Promise<FakeKms> {
  const accountId = options.accountId ?? '111122223333';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const keys = new Map<string, Key>();
  const faults: KmsFault[] = [];
  const calls: { operation: string; status: number }[] = [];
  const arnOf = (keyId: string): string => `arn:aws:kms:${region}:${accountId}:key/${keyId}`;

  function keyOf(reference: unknown): Key {
    if (typeof reference !== 'string' || reference.length < 1 || reference.length > 2048) throw new KmsError('ValidationException', "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length between 1 and 2048");
    if (reference.startsWith('alias/') || reference.includes(':alias/')) throw new KmsError('InvalidArnException', 'TagResource does not accept an alias.');
    const arn = /^arn:aws:kms:([^:]+):(\d{12}):key\/(.+)$/.exec(reference);
    if (reference.startsWith('arn:') && arn === null) throw new KmsError('InvalidArnException', `Invalid arn ${reference}`);
    if (arn !== null && (arn[1] !== region || arn[2] !== accountId)) throw new KmsError('NotFoundException', `Key '${reference}' does not exist`);
    const key = keys.get(arn === null ? reference : arn[3]!);
    if (key === undefined) throw new KmsError('NotFoundException', `Key '${reference}' does not exist`);
    return key;
  }

  function tagResource(input: Record<string, unknown>): void {
    const key = keyOf(input['KeyId']);
    const tags = input['Tags'];
    if (!Array.isArray(tags) || tags.length === 0) throw new KmsError('ValidationException', "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    const parsed = tags.map((tag: unknown) => {
      const { TagKey, TagValue } = (typeof tag === 'object' && tag !== null ? tag : {}) as Record<string, unknown>;
      if (typeof TagKey !== 'string' || TagKey.length < 1 || TagKey.length > 128 || TagKey.startsWith('aws:')) throw new KmsError('TagException', 'Invalid tag key.');
      if (typeof TagValue !== 'string' || TagValue.length > 256) throw new KmsError('TagException', 'Invalid tag value.');
      return [TagKey, TagValue] as const;
    });
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    for (const [tagKey, tagValue] of parsed) key.tags.set(tagKey, tagValue);
    if (key.tags.size > 50) throw new KmsError('LimitExceededException', 'A key can have at most 50 tags.');
  }

  /** The CloudTrail record of a call, as CloudTrail writes TagResource (see test/fixtures/cloudtrail/TagResource.json). */
  function trailRecord(accessKeyId: string, requestId: string, input: Record<string, unknown>, error: KmsError | undefined): Record<string, unknown> {
    const keyId = typeof input['KeyId'] === 'string' ? input['KeyId'] : undefined;
    const tags = Array.isArray(input['Tags']) ? (input['Tags'] as Record<string, unknown>[]).map((tag) => ({ tagKey: tag['TagKey'], tagValue: tag['TagValue'] })) : undefined;
    const known = keyId === undefined ? undefined : [...keys.values()].find((key) => key.arn === keyId || key.arn.endsWith(`/${keyId}`));
    return {
      eventVersion: '1.08',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLEHEARTBEAT:kms-change-exporter',
        arn: `arn:aws:sts::${accountId}:assumed-role/kms-change-exporter/kms-change-exporter`,
        accountId,
        accessKeyId,
        sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEHEARTBEAT', arn: `arn:aws:iam::${accountId}:role/kms-change-exporter`, accountId, userName: 'kms-change-exporter' } },
      },
      eventTime: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'kms.amazonaws.com',
      eventName: 'TagResource',
      awsRegion: region,
      sourceIPAddress: '192.0.2.44',
      userAgent: 'aws-sdk-js/3 kms-change-exporter',
      ...(error === undefined ? {} : { errorCode: error.code, errorMessage: error.message }),
      requestParameters: { ...(keyId === undefined ? {} : { keyId }), ...(tags === undefined ? {} : { tags }) },
      responseElements: null,
      requestID: requestId,
      eventID: randomUUID(),
      readOnly: false,
      resources: known === undefined ? [] : [{ accountId, type: 'AWS::KMS::Key', ARN: known.arn }],
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: accountId,
      eventCategory: 'Management',
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const target = req.headers['x-amz-target'];
    const operation = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : 'Unknown';
    const answer = (status: number, body: unknown, errorType?: string): void => {
      calls.push({ operation, status });
      send(res, requestId, status, body, errorType);
    };
    let accessKeyId: string;
    let input: Record<string, unknown>;
    try {
      if (req.method !== 'POST') throw new KmsError('UnknownOperationException', 'Only POST is supported.');
      if (req.headers['content-type'] !== JSON_CONTENT_TYPE) throw new KmsError('UnknownOperationException', `Content-Type must be ${JSON_CONTENT_TYPE}.`);
      accessKeyId = authenticate(req, region);
      const body = await readBody(req, 1024 * 1024);
      const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KmsError('SerializationException', 'Body must be a JSON object.');
      input = parsed as Record<string, unknown>;
      if (operation !== 'TagResource') throw new KmsError('UnknownOperationException', `The fake answers TagResource only, not ${operation}.`);
    } catch (error) {
      const e = error instanceof KmsError ? error : new KmsError('SerializationException', 'Malformed request body.');
      answer(e.status, { __type: e.code, message: e.message }, e.code);
      return;
    }
    const fault = faults.shift();
    if (fault?.kind === 'drop') {
      calls.push({ operation, status: 0 });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    let failure: KmsError | undefined;
    if (fault?.kind === 'error') failure = new KmsError(fault.code, fault.message ?? fault.code, fault.status ?? 400);
    else {
      try {
        tagResource(input);
      } catch (error) {
        failure = error instanceof KmsError ? error : new KmsError('KMSInternalException', 'Internal error.', 500);
      }
    }
    // CloudTrail records authenticated calls, refused ones too (with errorCode); throttled calls are not management events it writes.
    if (failure?.code !== 'ThrottlingException' && failure?.status !== 500) options.trail?.(trailRecord(accessKeyId, requestId, input, failure));
    if (failure === undefined) answer(200, undefined);
    else answer(failure.status, { __type: failure.code, message: failure.message }, failure.code);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, randomUUID(), 500, { __type: 'KMSInternalException', message: 'Internal error.' }, 'KMSInternalException');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    createKey(keyId = randomUUID(), state = 'Enabled') {
      keys.set(keyId, { arn: arnOf(keyId), state, tags: new Map() });
      return arnOf(keyId);
    },
    setKeyState(keyId, state) {
      const key = keys.get(keyId);
      if (key === undefined) throw new Error(`no key ${keyId}`);
      key.state = state;
    },
    tags: (keyId) => Object.fromEntries(keys.get(keyId)?.tags ?? []),
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    calls: () => [...calls],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
