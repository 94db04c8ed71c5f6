// The replay progress line: on a terminal, what is done of what is known so far, redrawn in place on stderr.
//
// Totals grow as inputs are listed (an S3 listing is read page by page), so "time left" is of the bytes known now.
// Rates are of the last few seconds, not since the start: a replay that slows down (a throttled bucket) says so.

import { stat } from 'node:fs/promises';

/** What a replay reader reports as it goes. */
export interface InputProgress {
  /** More inputs listed: `files` of them, `bytes` in all (undefined when a size cannot be known: stdin, a pipe). */
  known(files: number, bytes: number | undefined): void;
  /** Bytes of an input read (as stored: compressed bytes of a gzipped file). */
  read(bytes: number): void;
  /** One input finished, read whole or not. */
  inputDone(): void;
}

/** The whole replay's progress: the reader's reports, the pipeline's counts, and the end. */
export interface Progress extends InputProgress {
  /** False when nothing is shown (stderr is not a terminal): the readers then need not size their inputs. */
  readonly live: boolean;
  /** Records read (whatever became of them) and the changes among them, batch by batch. */
  counted(records: number, changes: number): void;
  /** Clears the line for good (idempotent): after it, stderr and stdout are the command's own. */
  stop(): void;
}

export interface ProgressState {
  readonly filesDone: number;
  readonly filesKnown: number;
  readonly bytesDone: number;
  /** Undefined while an input of unknown size is among the known. */
  readonly bytesKnown: number | undefined;
  /** Undefined until the window holds enough time to say. */
  readonly recordsPerSecond: number | undefined;
  readonly changes: number;
  /** Undefined while the byte rate or the total is unknown (or nothing is being read). */
  readonly secondsLeft: number | undefined;
}

/** A terminal as far as the progress line needs one: a tty.WriteStream, or a fake of one. */
export interface Terminal {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export interface ProgressClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called, without holding the process open. */
  every(ms: number, tick: () => void): () => void;
}

const REAL_CLOCK: ProgressClock = {
  now: () => performance.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

/** Redraws per second at most: 4, enough to look alive, few enough to cost nothing. */
export const REDRAW_MS = 250;
/** The rates are of this much recent time. */
export const RATE_WINDOW_MS = 5000;
/** Less time than this in the window is too little to call a rate. */
const MIN_RATE_SPAN_MS = 1000;
/** When the terminal does not say its width. */
const DEFAULT_COLUMNS = 80;

const CLEAR_LINE = '\r\x1b[K';
const SEPARATOR = ' | ';

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 3,456 */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** A value in steps of 1000: 512 B, 1.2 GB, 45.6 GB, 123 GB; one decimal below 100 of a unit. */
function scaled(value: number, units: readonly string[], space: string): string {
  for (let i = 0; ; i++) {
    const v = value / 1000 ** i;
    const text = i === 0 ? String(Math.round(v)) : v < 99.95 ? v.toFixed(1) : v.toFixed(0);
    if (Number(text) < 1000 || i === units.length - 1) return `${text}${space}${units[i]}`;
  }
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;
const RATE_UNITS = ['', 'k', 'M', 'G'] as const;

/** 1.2 GB (decimal units, as S3 and disks are sold) */
export function formatBytes(bytes: number): string {
  return scaled(bytes, BYTE_UNITS, ' ');
}

/** 1.2M */
export function formatRate(perSecond: number): string {
  return scaled(perSecond, RATE_UNITS, '');
}

/** 45s, 2m05s, 1h02m, 3d04h: two units at most; seconds rounded up, so 0s is said only when nothing is left. */
export function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

const plural = (n: number, one: string, many: string): string => `${formatCount(n)} ${n === 1 ? one : many}`;

/**
 * The line for `state` in at most `width - 1` characters (the last column would make some terminals wrap). Parts are
 * dropped from the least telling (the rate, then the file count, the changes, the bytes) until it fits; time left goes last.
 */
export function formatProgress(state: ProgressState, width: number): string {
  const parts = [
    { rank: 3, text: `${formatCount(state.filesDone)} of ${plural(state.filesKnown, 'file', 'files')}` },
    { rank: 1, text: `${formatBytes(state.bytesDone)} of ${state.bytesKnown === undefined ? '?' : formatBytes(state.bytesKnown)}` },
    { rank: 4, text: `${state.recordsPerSecond === undefined ? '?' : formatRate(state.recordsPerSecond)} rec/s` },
    { rank: 2, text: plural(state.changes, 'change', 'changes') },
    { rank: 0, text: `${state.secondsLeft === undefined ? '?' : formatDuration(state.secondsLeft)} left` },
  ];
  const room = Math.max(0, width - 1);
  for (let keep = parts.length; keep > 0; keep--) {
    const line = parts.filter((part) => part.rank < keep).map((part) => part.text).join(SEPARATOR);
    if (line.length <= room) return line;
  }
  return parts[parts.length - 1]!.text.slice(0, room);
}

interface Sample {
  readonly at: number;
  readonly records: number;
  readonly bytes: number;
}

/** Counts of the last RATE_WINDOW_MS: the oldest sample kept is the newest one at or before the window's start. */
class RateWindow {
  private readonly samples: Sample[] = [];

  add(sample: Sample): void {
    this.samples.push(sample);
    while (this.samples.length > 1 && this.samples[1]!.at <= sample.at - RATE_WINDOW_MS) this.samples.shift();
  }

  /** Records and bytes per second from the oldest sample to the newest; undefined over too short a span. */
  rates(): { readonly records: number; readonly bytes: number } | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at - first.at < MIN_RATE_SPAN_MS) return undefined;
    const seconds = (last.at - first.at) / 1000;
    return { records: (last.records - first.records) / seconds, bytes: (last.bytes - first.bytes) / seconds };
  }
}

const NO_PROGRESS: Progress = Object.freeze({
  live: false,
  known: () => {},
  read: () => {},
  inputDone: () => {},
  counted: () => {},
  stop: () => {},
});

/** The progress line on a terminal; on anything else (a file, a pipe, a CI log) nothing at all. */
export class ReplayProgress implements Progress {
  readonly live = true;
  private readonly terminal: Terminal;
  private readonly clock: ProgressClock;
  private readonly window = new RateWindow();
  private readonly cancel: () => void;
  private filesKnown = 0;
  private filesDone = 0;
  private bytesKnown = 0;
  private unsized = 0;
  private bytesDone = 0;
  private records = 0;
  private changes = 0;
  /** What is on the terminal now: '' when nothing is. */
  private shown = '';
  private stopped = false;

  /** The line on `terminal` when it is a TTY, redrawn every REDRAW_MS; a progress that does nothing otherwise. */
  static start(terminal: Terminal, clock: ProgressClock = REAL_CLOCK): Progress {
    if (terminal.isTTY !== true) return NO_PROGRESS;
    return new ReplayProgress(terminal, clock);
  }

  private constructor(terminal: Terminal, clock: ProgressClock) {
    this.terminal = terminal;
    this.clock = clock;
    this.window.add(this.sample());
    this.cancel = clock.every(REDRAW_MS, () => this.redraw());
  }

  known(files: number, bytes: number | undefined): void {
    this.filesKnown += files;
    if (bytes === undefined) this.unsized += files;
    else this.bytesKnown += bytes;
  }

  read(bytes: number): void {
    this.bytesDone += bytes;
  }

  inputDone(): void {
    this.filesDone++;
  }

  counted(records: number, changes: number): void {
    this.records += records;
    this.changes += changes;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancel();
    if (this.shown !== '') this.terminal.write(CLEAR_LINE);
    this.shown = '';
  }

  /** The state now; the window takes a sample. */
  private current(): ProgressState {
    this.window.add(this.sample());
    const rates = this.window.rates();
    const bytesKnown = this.unsized > 0 ? undefined : this.bytesKnown;
    const secondsLeft = bytesKnown === undefined || rates === undefined || rates.bytes <= 0 ? undefined : Math.max(0, bytesKnown - this.bytesDone) / rates.bytes;
    return {
      filesDone: this.filesDone,
      filesKnown: this.filesKnown,
      bytesDone: this.bytesDone,
      bytesKnown,
      recordsPerSecond: rates?.records,
      changes: this.changes,
      secondsLeft,
    };
  }

  private sample(): Sample {
    return { at: this.clock.now(), records: this.records, bytes: this.bytesDone };
  }

  private redraw(): void {
    if (this.stopped) return;
    const columns = this.terminal.columns ?? 0;
    const line = formatProgress(this.current(), columns > 0 ? columns : DEFAULT_COLUMNS);
    if (line === this.shown) return;
    this.terminal.write(`\r${line}\x1b[K`);
    this.shown = line;
  }
}

/** A local path's size for `known`: a regular file's; stdin's (`-`) or a pipe's is unknown; one missing or a directory counts 0 (its error says why). */
export async function localSize(path: string): Promise<number | undefined> {
  if (path === '-') return undefined;
  try {
    const stats = await stat(path);
    if (stats.isFile()) return stats.size;
    return stats.isDirectory() ? 0 : undefined;
  } catch {
    return 0;
  }
}

/** Stats at once: a stat is a thread-pool round trip, and 16 in flight size 100,000 files in about a second instead of seven. */
const STAT_CONCURRENCY = 16;

/** Each path's size ({@link localSize}), in order. */
export async function localSizes(paths: readonly string[]): Promise<(number | undefined)[]> {
  const sizes: (number | undefined)[] = new Array<number | undefined>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      sizes[i] = await localSize(paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, paths.length) }, worker));
  return sizes;
}

/** `chunks` unchanged, each one's length reported to `progress` as it passes. */
export async function* countingBytes(chunks: AsyncIterable<Buffer>, progress: InputProgress): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    progress.read(chunk.length);
    yield chunk;
  }
}
