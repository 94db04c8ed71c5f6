// HTTP/1.1 over a bare socket: a sender that controls every byte and its timing (slow headers, held or trickled bodies), and sees exactly what the server answered and when it closed.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawConnection {
  readonly socket: Socket;
  /** Body bytes (after the head) written so far. */
  readonly sent: () => number;
  /** Body bytes written when the first byte of the answer arrived (undefined before). */
  readonly sentAtAnswer: () => number | undefined;
  /** Writes body bytes; resolves once the socket accepted them (false once the server closed it). */
  write(bytes: Buffer | string): Promise<boolean>;
  /** The answer, once its head and Content-Length body are in (or the socket closed). */
  readonly answer: Promise<RawAnswer | undefined>;
  /** Resolves with the time (ms since open) the server closed the connection. */
  readonly closed: Promise<number>;
}

function parse(raw: Buffer): RawAnswer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = raw.subarray(end + 4);
  if (body.length < length) return undefined;
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.subarray(0, length).toString('utf8') };
}

/** Opens a connection to `address` (http://host:port) and writes `head` (the request line and headers, "\r\n"-separated, with the blank line when complete). */
export async function rawRequest(address: string, head: string): Promise<RawConnection> {
  const url = new URL(address);
  const opened = Date.now();
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let sent = 0;
  let sentAtAnswer: number | undefined;
  let received = Buffer.alloc(0);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  const answer = new Promise<RawAnswer | undefined>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      sentAtAnswer ??= sent;
      received = Buffer.concat([received, chunk]);
      const parsed = parse(received);
      if (parsed !== undefined) resolve(parsed);
    });
    socket.once('close', () => resolve(parse(received)));
  });
  if (head !== '') socket.write(head);
  return {
    socket,
    sent: () => sent,
    sentAtAnswer: () => sentAtAnswer,
    write: (bytes) =>
      new Promise((resolve) => {
        if (socket.destroyed || !socket.writable) {
          resolve(false);
          return;
        }
        const length = Buffer.byteLength(bytes);
        socket.write(bytes, (error) => {
          if (error === undefined || error === null) sent += length;
          resolve(error === undefined || error === null);
        });
      }),
    answer,
    closed,
  };
}

/** The head of a POST /firehose as Firehose sends it; `key: undefined` leaves the access key out. */
export function firehoseHead(options: { readonly key?: string | undefined; readonly requestId?: string; readonly contentLength?: number; readonly chunked?: boolean; readonly contentType?: string }): string {
  const lines = [
    'POST /firehose HTTP/1.1',
    'Host: 127.0.0.1',
    `Content-Type: ${options.contentType ?? 'application/json'}`,
    'X-Amz-Firehose-Protocol-Version: 1.0',
    `X-Amz-Firehose-Request-Id: ${options.requestId ?? 'a7d2e8c4-5b1f-4e9a-9c3d-2f6b8a1e4d70'}`,
    'X-Amz-Firehose-Source-Arn: arn:aws:firehose:us-east-1:111122223333:deliverystream/kms-changes',
  ];
  if (options.key !== undefined) lines.push(`X-Amz-Firehose-Access-Key: ${options.key}`);
  if (options.contentLength !== undefined) lines.push(`Content-Length: ${options.contentLength}`);
  if (options.chunked === true) lines.push('Transfer-Encoding: chunked');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A Firehose envelope of exactly `size` bytes (padded with spaces, which JSON allows): a body a sender can hold half-sent. */
export function paddedEnvelope(requestId: string, size: number, records: readonly unknown[] = []): Buffer {
  const json = JSON.stringify({ requestId, timestamp: Date.now(), records });
  if (json.length > size) throw new Error(`the envelope is ${json.length} bytes, more than ${size}`);
  return Buffer.concat([Buffer.from(json), Buffer.alloc(size - json.length, 0x20)]);
}
