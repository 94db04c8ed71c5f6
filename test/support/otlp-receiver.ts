// A tiny OTLP/HTTP logs receiver for tests: accepts JSON and protobuf export requests and decodes them into one plain shape.

import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { asBytes, asDouble, asFixed32, asFixed64, asInt64, asString, asVarint, readFields } from './protobuf-wire.ts';
import type { WireField } from './protobuf-wire.ts';

/** An OTLP AnyValue as plain JS: ints become numbers (bigint when beyond 2^53), bytes stay bytes. */
export type OtlpValue = string | number | bigint | boolean | Uint8Array | null | OtlpValue[] | { [key: string]: OtlpValue };

export interface ReceivedLogRecord {
  /** Nanoseconds since the epoch, as a decimal string ("0" when absent). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName: string;
  body: OtlpValue;
  attributes: Record<string, OtlpValue>;
  droppedAttributesCount: number;
  flags: number;
  /** Lowercase hex, "" when absent. */
  traceId: string;
  spanId: string;
}

/** One (resource, scope) pair of an export request with its records: ResourceLogs × ScopeLogs, flattened. */
export interface ReceivedScopeLogs {
  resource: { attributes: Record<string, OtlpValue> };
  scope: { name: string; version: string };
  logRecords: ReceivedLogRecord[];
}

export type OtlpEncoding = 'json' | 'protobuf';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly contentEncoding: string;
  readonly userAgent: string;
  /** The status this receiver answered with. */
  readonly status: number;
  /** Set when the request was accepted (status 200). */
  readonly logs: ReceivedScopeLogs[] | undefined;
  /** Why the request was refused, for a status other than 200 or an injected failure. */
  readonly error: string | undefined;
}

export interface OtlpReceiverOptions {
  /** Where to listen: 127.0.0.1 and port 0 (any free port) unless told. */
  readonly host?: string;
  readonly port?: number;
  /** Answer the first `failFirst` export requests with `failStatus` instead of accepting them. */
  readonly failFirst?: number;
  readonly failStatus?: number;
  /** A Retry-After header to send with the injected failures. */
  readonly retryAfter?: string;
}

export interface OtlpReceiver {
  /** http://HOST:PORT */
  readonly url: string;
  /** http://HOST:PORT/v1/logs */
  readonly logsEndpoint: string;
  /** Every request, in arrival order, whatever the answer. */
  readonly requests: readonly ReceivedRequest[];
  /** The (resource, scope) groups of every accepted request, in arrival order. */
  accepted(): ReceivedScopeLogs[];
  /** Every log record of every accepted request, in arrival order. */
  records(): ReceivedLogRecord[];
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

class BadRequest extends Error {
  override readonly name = 'BadRequest';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf: field numbers from opentelemetry-proto collector/logs/v1/logs_service.proto,
// logs/v1/logs.proto, common/v1/common.proto and resource/v1/resource.proto.

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function narrowInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue, 6 KeyValueList, 7 bytes (a oneof: the last one wins). */
function protoAnyValue(bytes: Uint8Array): OtlpValue {
  let value: OtlpValue = null;
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1:
        value = asString(field);
        break;
      case 2:
        value = asVarint(field) !== 0n;
        break;
      case 3:
        value = narrowInt(asInt64(field));
        break;
      case 4:
        value = asDouble(field);
        break;
      case 5: // ArrayValue { repeated AnyValue values = 1 }
        value = readFields(asBytes(field))
          .filter((item) => item.number === 1)
          .map((item) => protoAnyValue(asBytes(item)));
        break;
      case 6: // KeyValueList { repeated KeyValue values = 1 }
        value = protoKeyValues(readFields(asBytes(field)).filter((item) => item.number === 1));
        break;
      case 7:
        value = Uint8Array.from(asBytes(field));
        break;
      default:
        break;
    }
  }
  return value;
}

/** repeated KeyValue { string key = 1; AnyValue value = 2 } */
function protoKeyValues(fields: readonly WireField[]): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  for (const field of fields) {
    let key = '';
    let value: OtlpValue = null;
    for (const part of readFields(asBytes(field))) {
      if (part.number === 1) key = asString(part);
      else if (part.number === 2) value = protoAnyValue(asBytes(part));
    }
    if (Object.hasOwn(out, key)) throw new BadRequest(400, `duplicate attribute key ${JSON.stringify(key)}`);
    out[key] = value;
  }
  return out;
}

/**
 * LogRecord: 1 time_unix_nano fixed64, 2 severity_number enum, 3 severity_text, 5 body AnyValue,
 * 6 attributes KeyValue*, 7 dropped_attributes_count uint32, 8 flags fixed32, 9 trace_id bytes,
 * 10 span_id bytes, 11 observed_time_unix_nano fixed64, 12 event_name. (4 was the removed `name`.)
 */
function protoLogRecord(bytes: Uint8Array): ReceivedLogRecord {
  const record: ReceivedLogRecord = emptyRecord();
  const attributes: WireField[] = [];
  for (const field of readFields(bytes)) {
    switch (field.number) {
      case 1:
        record.timeUnixNano = asFixed64(field).toString();
        break;
      case 2:
        record.severityNumber = Number(BigInt.asIntN(32, asVarint(field)));
        break;
      case 3:
        record.severityText = asString(field);
        break;
      case 5:
        record.body = protoAnyValue(asBytes(field));
        break;
      case 6:
        attributes.push(field);
        break;
      case 7:
        record.droppedAttributesCount = Number(asVarint(field));
        break;
      case 8:
        record.flags = asFixed32(field);
        break;
      case 9:
        record.traceId = hex(asBytes(field));
        break;
      case 10:
        record.spanId = hex(asBytes(field));
        break;
      case 11:
        record.observedTimeUnixNano = asFixed64(field).toString();
        break;
      case 12:
        record.eventName = asString(field);
        break;
      default:
        break;
    }
  }
  record.attributes = protoKeyValues(attributes);
  return record;
}

/** InstrumentationScope: 1 name, 2 version, 3 attributes, 4 dropped_attributes_count. */
function protoScope(bytes: Uint8Array): { name: string; version: string } {
  const scope = { name: '', version: '' };
  for (const field of readFields(bytes)) {
    if (field.number === 1) scope.name = asString(field);
    else if (field.number === 2) scope.version = asString(field);
  }
  return scope;
}

/** Resource: 1 attributes KeyValue*, 2 dropped_attributes_count, 3 entity_refs. */
function protoResource(bytes: Uint8Array): { attributes: Record<string, OtlpValue> } {
  return { attributes: protoKeyValues(readFields(bytes).filter((field) => field.number === 1)) };
}

/**
 * ExportLogsServiceRequest: 1 resource_logs*. ResourceLogs: 1 resource, 2 scope_logs*, 3 schema_url.
 * ScopeLogs: 1 scope, 2 log_records*, 3 schema_url.
 */
export function decodeProtobufLogsRequest(bytes: Uint8Array): ReceivedScopeLogs[] {
  const out: ReceivedScopeLogs[] = [];
  for (const resourceLogs of readFields(bytes)) {
    if (resourceLogs.number !== 1) continue;
    let resource: { attributes: Record<string, OtlpValue> } = { attributes: {} };
    const scopeLogsFields: WireField[] = [];
    for (const field of readFields(asBytes(resourceLogs))) {
      if (field.number === 1) resource = protoResource(asBytes(field));
      else if (field.number === 2) scopeLogsFields.push(field);
    }
    for (const scopeLogs of scopeLogsFields) {
      let scope = { name: '', version: '' };
      const logRecords: ReceivedLogRecord[] = [];
      for (const field of readFields(asBytes(scopeLogs))) {
        if (field.number === 1) scope = protoScope(asBytes(field));
        else if (field.number === 2) logRecords.push(protoLogRecord(asBytes(field)));
      }
      out.push({ resource, scope, logRecords });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON (OTLP/JSON): lowerCamelCase keys, int64 as a decimal string or a number, enums as
// numbers, trace and span ids as hex, bytes as base64.

type JsonObject = Record<string, unknown>;

function jsonObject(value: unknown, where: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new BadRequest(400, `${where}: expected an object`);
  return value as JsonObject;
}

function jsonArray(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadRequest(400, `${where}: expected an array`);
  return value;
}

function jsonString(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new BadRequest(400, `${where}: expected a string`);
  return value;
}

/** An int64 in OTLP/JSON: a decimal string or a JSON number (bigint when parsed beyond 2^53). */
function jsonInt64(value: unknown, where: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new BadRequest(400, `${where}: expected an int64, got ${JSON.stringify(String(value))}`);
}

function jsonAnyValue(value: unknown, where: string): OtlpValue {
  const any = jsonObject(value, where);
  if ('stringValue' in any) return jsonString(any['stringValue'], `${where}.stringValue`);
  if ('boolValue' in any) {
    if (typeof any['boolValue'] !== 'boolean') throw new BadRequest(400, `${where}.boolValue: expected a boolean`);
    return any['boolValue'];
  }
  if ('intValue' in any) return narrowInt(jsonInt64(any['intValue'], `${where}.intValue`));
  if ('doubleValue' in any) {
    const double = any['doubleValue'];
    if (typeof double === 'number') return double;
    if (typeof double === 'bigint') return Number(double);
    if (typeof double === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(double)) return Number(double);
    throw new BadRequest(400, `${where}.doubleValue: expected a number`);
  }
  if ('arrayValue' in any) {
    return jsonArray(jsonObject(any['arrayValue'], `${where}.arrayValue`)['values'], `${where}.arrayValue.values`).map((item, i) => jsonAnyValue(item, `${where}.arrayValue.values[${i}]`));
  }
  if ('kvlistValue' in any) return jsonKeyValues(jsonObject(any['kvlistValue'], `${where}.kvlistValue`)['values'], `${where}.kvlistValue.values`);
  if ('bytesValue' in any) return Uint8Array.from(Buffer.from(jsonString(any['bytesValue'], `${where}.bytesValue`), 'base64'));
  return null;
}

function jsonKeyValues(value: unknown, where: string): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {};
  jsonArray(value, where).forEach((item, i) => {
    const keyValue = jsonObject(item, `${where}[${i}]`);
    const key = jsonString(keyValue['key'], `${where}[${i}].key`);
    if (Object.hasOwn(out, key)) throw new BadRequest(400, `duplicate attribute key ${JSON.stringify(key)}`);
    out[key] = jsonAnyValue(keyValue['value'], `${where}[${i}].value`);
  });
  return out;
}

function jsonNumber(value: unknown, where: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new BadRequest(400, `${where}: expected an integer`);
  return value;
}

function jsonLogRecord(value: unknown, where: string): ReceivedLogRecord {
  const json = jsonObject(value, where);
  return {
    timeUnixNano: jsonInt64(json['timeUnixNano'], `${where}.timeUnixNano`).toString(),
    observedTimeUnixNano: jsonInt64(json['observedTimeUnixNano'], `${where}.observedTimeUnixNano`).toString(),
    severityNumber: jsonNumber(json['severityNumber'], `${where}.severityNumber`),
    severityText: jsonString(json['severityText'], `${where}.severityText`),
    eventName: jsonString(json['eventName'], `${where}.eventName`),
    body: json['body'] === undefined ? null : jsonAnyValue(json['body'], `${where}.body`),
    attributes: jsonKeyValues(json['attributes'], `${where}.attributes`),
    droppedAttributesCount: jsonNumber(json['droppedAttributesCount'], `${where}.droppedAttributesCount`),
    flags: jsonNumber(json['flags'], `${where}.flags`),
    traceId: jsonString(json['traceId'], `${where}.traceId`).toLowerCase(),
    spanId: jsonString(json['spanId'], `${where}.spanId`).toLowerCase(),
  };
}

/** Big integers keep every digit: a JSON number beyond 2^53 becomes a bigint (reviver source text, Node 21+). */
function reviveBigIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source !== undefined && /^-?\d+$/.test(context.source)) return BigInt(context.source);
  return value;
}

export function decodeJsonLogsRequest(text: string): ReceivedScopeLogs[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviveBigIntegers);
  } catch (error) {
    throw new BadRequest(400, `invalid JSON: ${(error as Error).message}`);
  }
  const out: ReceivedScopeLogs[] = [];
  jsonArray(jsonObject(parsed, 'request')['resourceLogs'], 'resourceLogs').forEach((item, r) => {
    const resourceLogs = jsonObject(item, `resourceLogs[${r}]`);
    const resource = { attributes: jsonKeyValues(jsonObject(resourceLogs['resource'], `resourceLogs[${r}].resource`)['attributes'], `resourceLogs[${r}].resource.attributes`) };
    jsonArray(resourceLogs['scopeLogs'], `resourceLogs[${r}].scopeLogs`).forEach((scopeItem, s) => {
      const where = `resourceLogs[${r}].scopeLogs[${s}]`;
      const scopeLogs = jsonObject(scopeItem, where);
      const scopeJson = jsonObject(scopeLogs['scope'], `${where}.scope`);
      const scope = { name: jsonString(scopeJson['name'], `${where}.scope.name`), version: jsonString(scopeJson['version'], `${where}.scope.version`) };
      const logRecords = jsonArray(scopeLogs['logRecords'], `${where}.logRecords`).map((record, i) => jsonLogRecord(record, `${where}.logRecords[${i}]`));
      out.push({ resource, scope, logRecords });
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

function emptyRecord(): ReceivedLogRecord {
  return {
    timeUnixNano: '0',
    observedTimeUnixNano: '0',
    severityNumber: 0,
    severityText: '',
    eventName: '',
    body: null,
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
  };
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return (Array.isArray(value) ? value.join(', ') : value) ?? '';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function decodeBody(raw: Buffer, contentType: string, contentEncoding: string): { encoding: OtlpEncoding; logs: ReceivedScopeLogs[] } {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  const encoding: OtlpEncoding | undefined = mediaType === JSON_TYPE ? 'json' : mediaType === PROTOBUF_TYPE ? 'protobuf' : undefined;
  if (encoding === undefined) throw new BadRequest(415, `unsupported Content-Type ${JSON.stringify(contentType)}`);
  let body = raw;
  const coding = contentEncoding.trim().toLowerCase();
  if (coding === 'gzip') {
    try {
      body = gunzipSync(raw);
    } catch (error) {
      throw new BadRequest(400, `bad gzip body: ${(error as Error).message}`);
    }
  } else if (coding !== '' && coding !== 'identity') {
    throw new BadRequest(415, `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}`);
  }
  if (encoding === 'json') return { encoding, logs: decodeJsonLogsRequest(body.toString('utf8')) };
  try {
    return { encoding, logs: decodeProtobufLogsRequest(body) };
  } catch (error) {
    if (error instanceof BadRequest) throw error;
    throw new BadRequest(400, `bad protobuf body: ${(error as Error).message}`);
  }
}

/** An empty ExportLogsServiceResponse: no bytes in protobuf, `{}` in JSON. */
function answer(res: ServerResponse, status: number, encoding: OtlpEncoding, headers: Record<string, string> = {}): void {
  const body = encoding === 'json' ? '{}' : '';
  res.writeHead(status, { 'Content-Type': encoding === 'json' ? JSON_TYPE : PROTOBUF_TYPE, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
  res.end(message);
}

/** Listens on 127.0.0.1, port 0 (any free port), unless `host`/`port` say otherwise; rejects when it cannot listen. */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const failFirst = options.failFirst ?? 0;
  const failStatus = options.failStatus ?? 503;
  const requests: ReceivedRequest[] = [];
  let exportRequests = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? '';
      const path = new URL(req.url ?? '/', 'http://receiver').pathname;
      const contentType = header(req, 'content-type');
      const contentEncoding = header(req, 'content-encoding');
      const userAgent = header(req, 'user-agent');
      const raw = await readBody(req);
      const record = (status: number, logs: ReceivedScopeLogs[] | undefined, error: string | undefined): void => {
        requests.push({ method, path, contentType, contentEncoding, userAgent, status, logs, error });
      };
      if (path !== '/v1/logs') {
        record(404, undefined, `no such path ${path}`);
        refuse(res, 404, 'not found');
        return;
      }
      if (method !== 'POST') {
        record(405, undefined, `method ${method} not allowed`);
        refuse(res, 405, 'method not allowed', { Allow: 'POST' });
        return;
      }
      exportRequests++;
      let decoded: { encoding: OtlpEncoding; logs: ReceivedScopeLogs[] };
      try {
        decoded = decodeBody(raw, contentType, contentEncoding);
      } catch (error) {
        const status = error instanceof BadRequest ? error.status : 500;
        record(status, undefined, (error as Error).message);
        refuse(res, status, (error as Error).message);
        return;
      }
      if (exportRequests <= failFirst) {
        record(failStatus, undefined, `injected failure ${exportRequests} of ${failFirst}`);
        answer(res, failStatus, decoded.encoding, options.retryAfter === undefined ? {} : { 'Retry-After': options.retryAfter });
        return;
      }
      record(200, decoded.logs, undefined);
      answer(res, 200, decoded.encoding);
    })().catch((error: unknown) => {
      if (!res.headersSent) refuse(res, 500, String(error));
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, family, port } = server.address() as AddressInfo;
  const url = `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;

  return {
    url,
    logsEndpoint: `${url}/v1/logs`,
    requests,
    accepted: () => requests.flatMap((request) => request.logs ?? []),
    records: () => requests.flatMap((request) => (request.logs ?? []).flatMap((group) => group.logRecords)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
