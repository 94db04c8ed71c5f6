// Every coded error the exporter reports to a person, with its message and exit code or HTTP status.

import { printableText } from './printable-text.ts';

/** A setting failed validation: the start stops, naming the flag and its environment variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'KMS_EXPORTER_BAD_CONFIG';
  readonly exitCode = 2;
  readonly flag: string;
  readonly env: string;

  constructor(flag: string, env: string, reason: string) {
    super(flag === env ? `invalid ${env}: ${reason}` : `invalid ${flag} (${env}): ${reason}`);
    this.flag = flag;
    this.env = env;
  }
}

/** An input named on the command line could not be read to its end, or held nothing that could be read. */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'KMS_EXPORTER_BAD_INPUT';
  readonly exitCode = 1;
  readonly path: string;
  /** What went wrong, without the path (a replay manifest keeps both, to report it again when resumed). */
  readonly reason: string;

  constructor(path: string, reason: string) {
    // A path is any bytes, and a reason may quote the input: printed, not sent raw to the terminal.
    super(printableText(`${path}: ${reason}`));
    this.path = path;
    this.reason = reason;
  }
}

/** A replay manifest that cannot be used: written for other arguments, corrupt, in use, or its inputs changed. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly code = 'KMS_EXPORTER_BAD_MANIFEST';
  readonly exitCode = 2;

  constructor(path: string, reason: string) {
    super(printableText(`the manifest ${path} ${reason}`));
  }
}

/** replay --output openmetrics cannot write the history it was asked for (its range is longer than a series may be). */
export class HistoryRangeError extends Error {
  override readonly name = 'HistoryRangeError';
  readonly code = 'KMS_EXPORTER_HISTORY_RANGE';
  readonly exitCode = 1;

  constructor(reason: string) {
    super(`--output openmetrics: ${reason}`);
  }
}

/** The state store (checkpoint file or Redis/Valkey) cannot claim or persist right now: nothing of the commit was applied; retry later. */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError';
  readonly code = 'KMS_EXPORTER_STATE_UNAVAILABLE';
  /** Firehose and EventBridge retry a 503; it is not a permanent failure. */
  readonly statusCode = 503;
  /** The store may have taken the commit after all (the answer was lost): the committer finds out before the next one. */
  readonly uncertain: boolean;

  constructor(reason: string, options: { cause?: unknown; uncertain?: boolean } = {}) {
    super(`state store unavailable: ${reason}`, { cause: options.cause });
    this.uncertain = options.uncertain ?? false;
  }
}

/** Another replica is committing the same record right now; retry once it is done. */
export class StateInDoubtError extends Error {
  override readonly name = 'StateInDoubtError';
  readonly code = 'KMS_EXPORTER_STATE_IN_DOUBT';
  readonly statusCode = 503;

  constructor(count: number) {
    super(`${count} record(s) are being committed by another replica; retry shortly`);
  }
}

/** The service is still taking its state store and restoring (waiting for a checkpoint lock, connecting): not serving counts yet. */
export class NotRestoredError extends Error {
  override readonly name = 'NotRestoredError';
  readonly code = 'KMS_EXPORTER_NOT_RESTORED';
  readonly statusCode = 503;

  constructor(detail: string) {
    super(`not serving yet: ${detail}`);
  }
}

/** What a failed bind means, in words: the system error codes of listen() and of the host name lookup before it. */
const LISTEN_REASONS: Readonly<Record<string, { readonly reason: string; readonly exitCode: 1 | 2 }>> = {
  EADDRINUSE: { reason: 'address already in use', exitCode: 1 },
  EACCES: { reason: 'permission denied (ports below 1024 need privileges)', exitCode: 1 },
  EADDRNOTAVAIL: { reason: 'address not available on this host', exitCode: 2 },
  ENOTFOUND: { reason: 'host name does not resolve', exitCode: 2 },
  EAI_AGAIN: { reason: 'host name lookup failed for now (temporary DNS failure)', exitCode: 1 },
};

/** The HTTP server could not bind its address: one line naming it and why; a setting that can never work exits 2. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
  readonly code = 'KMS_EXPORTER_CANNOT_LISTEN';
  readonly exitCode: 1 | 2;

  constructor(host: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
    const known = LISTEN_REASONS[code];
    super(`cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${known?.reason ?? (cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    this.exitCode = known?.exitCode ?? 1;
  }
}
