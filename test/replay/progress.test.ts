// The replay progress line: golden lines for typical states, fitting narrow terminals, and the live object's exact bytes on a fake TTY.
import t from 'tap';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { formatBytes, formatDuration, formatProgress, formatRate, REDRAW_MS, ReplayProgress } from '../../src/replay/progress.ts';
import type { ProgressClock, ProgressState } from '../../src/replay/progress.ts';
import { ManualClock } from '../support/manual-clock.ts';

const TYPICAL: ProgressState = { filesDone: 12, filesKnown: 3456, bytesDone: 1.2e9, bytesKnown: 45.6e9, recordsPerSecond: 1.234e6, changes: 34, secondsLeft: 125 };

t.test('formatProgress: every part of a typical state, in readable numbers', async (t) => {
  t.equal(formatProgress(TYPICAL, 80), '12 of 3,456 files | 1.2 GB of 45.6 GB | 1.2M rec/s | 34 changes | 2m05s left');
  t.equal(formatProgress({ filesDone: 1, filesKnown: 1, bytesDone: 268_494, bytesKnown: 268_494, recordsPerSecond: 850, changes: 1, secondsLeft: 0 }, 80), '1 of 1 file | 268 kB of 268 kB | 850 rec/s | 1 change | 0s left');
});

t.test('formatProgress: what is not known yet is a question mark', async (t) => {
  t.equal(formatProgress({ filesDone: 0, filesKnown: 3, bytesDone: 0, bytesKnown: 1_500_000, recordsPerSecond: undefined, changes: 0, secondsLeft: undefined }, 80), '0 of 3 files | 0 B of 1.5 MB | ? rec/s | 0 changes | ? left');
  t.equal(formatProgress({ filesDone: 1, filesKnown: 2, bytesDone: 536_988, bytesKnown: undefined, recordsPerSecond: 4012, changes: 60, secondsLeft: undefined }, 80), '1 of 2 files | 537 kB of ? | 4.0k rec/s | 60 changes | ? left', 'stdin among the inputs: no total');
});

t.test('formatProgress: a narrow terminal drops the rate, then the file count, the changes, the bytes; time left stays', async (t) => {
  t.equal(formatProgress(TYPICAL, 77), '12 of 3,456 files | 1.2 GB of 45.6 GB | 1.2M rec/s | 34 changes | 2m05s left', '76 characters: the last column stays free');
  t.equal(formatProgress(TYPICAL, 76), '12 of 3,456 files | 1.2 GB of 45.6 GB | 34 changes | 2m05s left');
  t.equal(formatProgress(TYPICAL, 64), '12 of 3,456 files | 1.2 GB of 45.6 GB | 34 changes | 2m05s left');
  t.equal(formatProgress(TYPICAL, 63), '1.2 GB of 45.6 GB | 34 changes | 2m05s left');
  t.equal(formatProgress(TYPICAL, 43), '1.2 GB of 45.6 GB | 2m05s left');
  t.equal(formatProgress(TYPICAL, 31), '1.2 GB of 45.6 GB | 2m05s left');
  t.equal(formatProgress(TYPICAL, 30), '2m05s left');
  t.equal(formatProgress(TYPICAL, 6), '2m05s');
  t.equal(formatProgress(TYPICAL, 1), '');
  t.equal(formatProgress(TYPICAL, 0), '');
});

t.test('property: any state at any width fits in width - 1 columns, on one line, every part present when there is room', async () => {
  const count = fc.nat({ max: 10_000_000 });
  const amount = fc.double({ min: 0, max: 1e18, noNaN: true });
  const state = fc.record({
    filesDone: count,
    filesKnown: count,
    bytesDone: amount,
    bytesKnown: fc.option(amount, { nil: undefined }),
    recordsPerSecond: fc.option(amount, { nil: undefined }),
    changes: count,
    secondsLeft: fc.option(fc.double({ min: 0, max: 1e9, noNaN: true }), { nil: undefined }),
  });
  fc.assert(
    fc.property(state, fc.nat({ max: 300 }), (s, width) => {
      const line = formatProgress(s, width);
      const fits = line.length <= Math.max(0, width - 1) && !/[\x00-\x1f]/.test(line);
      return fits && (width < 120 || line.split(' | ').length === 5);
    }),
  );
});

t.test('numbers: bytes in decimal units, rates with k/M/G, durations in two units (seconds rounded up: 0s only when done)', async (t) => {
  t.same([0, 999, 1000, 99_949, 123_456, 999_960, 45.6e9, 2.5e15, 7e18].map(formatBytes), ['0 B', '999 B', '1.0 kB', '99.9 kB', '123 kB', '1.0 MB', '45.6 GB', '2.5 PB', '7000 PB']);
  t.same([0, 12.4, 999.4, 999.6, 1_234_567, 2.5e9].map(formatRate), ['0', '12', '999', '1.0k', '1.2M', '2.5G']);
  t.same([0, 0.2, 59, 59.2, 125, 3599, 3725, 86_399, 273_600].map(formatDuration), ['0s', '1s', '59s', '1m00s', '2m05s', '59m59s', '1h02m', '23h59m', '3d04h']);
});

/** A stderr as the progress sees it: a Writable with isTTY and columns, everything written kept. */
class FakeTerminal extends Writable {
  isTTY: boolean;
  columns: number;
  written = '';

  constructor(isTTY: boolean, columns = 80) {
    super({ decodeStrings: false });
    this.isTTY = isTTY;
    this.columns = columns;
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: () => void): void {
    this.written += chunk;
    callback();
  }

  /** What was written since the last call. */
  take(): string {
    const text = this.written;
    this.written = '';
    return text;
  }
}

/** The manual clock with the timer the progress asks for: `advance` fires each tick that falls due. */
class FakeTimer implements ProgressClock {
  readonly clock = new ManualClock(1_000_000);
  readonly now = this.clock.now;
  intervals: number[] = [];
  private tick: (() => void) | undefined;
  private due = Infinity;
  cancelled = false;

  every(ms: number, tick: () => void): () => void {
    this.intervals.push(ms);
    this.due = this.clock.now() + ms;
    this.tick = tick;
    return () => {
      this.cancelled = true;
    };
  }

  advance(ms: number): void {
    const end = this.clock.now() + ms;
    while (this.due <= end) {
      this.clock.advance(this.due - this.clock.now());
      this.due += REDRAW_MS;
      if (!this.cancelled) this.tick?.();
    }
    this.clock.advance(end - this.clock.now());
  }
}

const line = (text: string): string => `\r${text}\x1b[K`;
const CLEAR = '\r\x1b[K';

t.test('on a TTY: redrawn in place 4 times a second, only when it changed, from the recent rates; cleared at stop', async (t) => {
  const terminal = new FakeTerminal(true);
  const timer = new FakeTimer();
  const progress = ReplayProgress.start(terminal, timer);
  t.equal(progress.live, true);
  t.same(timer.intervals, [250], 'one timer, every 250 ms');
  t.equal(terminal.take(), '', 'nothing before the first tick');

  progress.known(2, 2_000_000);
  timer.advance(250);
  t.equal(terminal.take(), line('0 of 2 files | 0 B of 2.0 MB | ? rec/s | 0 changes | ? left'));
  timer.advance(250);
  t.equal(terminal.take(), '', 'the same line is not written again');

  progress.read(500_000);
  progress.counted(10_000, 2);
  timer.advance(250);
  t.equal(terminal.take(), line('0 of 2 files | 500 kB of 2.0 MB | ? rec/s | 2 changes | ? left'), 'under a second of samples: no rate yet');
  timer.advance(250);
  t.equal(terminal.take(), line('0 of 2 files | 500 kB of 2.0 MB | 10.0k rec/s | 2 changes | 3s left'), '1.5 MB left at 500 kB/s');

  progress.inputDone();
  progress.known(1, 1_000_000);
  timer.advance(250);
  t.equal(terminal.take(), line('1 of 3 files | 500 kB of 3.0 MB | 8.0k rec/s | 2 changes | 7s left'), 'the total grows as inputs are listed; the rate is over the 1.25 s seen');

  // Nothing more is read: 5 s later the window no longer holds the burst, whatever the average since the start.
  timer.advance(3750);
  t.equal(terminal.take().split('\r').filter(Boolean).at(-1), '1 of 3 files | 500 kB of 3.0 MB | 2.0k rec/s | 2 changes | 25s left\x1b[K', '10,000 records over the last 5 s');
  timer.advance(750);
  t.equal(terminal.take(), line('1 of 3 files | 500 kB of 3.0 MB | 0 rec/s | 2 changes | ? left'), 'stalled: no rate, no time left');

  terminal.columns = 40;
  timer.advance(250);
  t.equal(terminal.take(), line('500 kB of 3.0 MB | 2 changes | ? left'), 'fitted to the width the terminal has now');

  progress.stop();
  t.equal(terminal.take(), CLEAR, 'cleared, and the cursor back at the start of the line');
  t.equal(timer.cancelled, true, 'the timer stopped');
  progress.read(1_000_000);
  progress.stop();
  timer.advance(1000);
  t.equal(terminal.take(), '', 'nothing after the stop, and a second stop writes nothing');
});

t.test('on a TTY: a replay over before the first redraw writes nothing at all, not even the clear', async (t) => {
  const terminal = new FakeTerminal(true);
  const timer = new FakeTimer();
  const progress = ReplayProgress.start(terminal, timer);
  progress.known(1, 100);
  progress.read(100);
  progress.counted(3, 1);
  progress.inputDone();
  timer.advance(200);
  progress.stop();
  t.equal(terminal.written, '');
});

t.test('on a TTY without a width (columns 0): 80 columns', async (t) => {
  const terminal = new FakeTerminal(true, 0);
  const timer = new FakeTimer();
  const progress = ReplayProgress.start(terminal, timer);
  progress.known(3456, 45.6e9);
  timer.advance(250);
  progress.stop();
  t.equal(terminal.written, `${line('0 of 3,456 files | 0 B of 45.6 GB | ? rec/s | 0 changes | ? left')}${CLEAR}`);
});

t.test('not a TTY (a file, a pipe): zero bytes, and no timer', async (t) => {
  for (const isTTY of [false, undefined]) {
    const terminal = new FakeTerminal(false);
    if (isTTY === undefined) Reflect.deleteProperty(terminal, 'isTTY');
    const timer = new FakeTimer();
    const progress = ReplayProgress.start(terminal, timer);
    progress.known(2, 2_000_000);
    progress.read(2_000_000);
    progress.counted(10, 1);
    progress.inputDone();
    timer.advance(2000);
    progress.stop();
    t.equal(progress.live, false);
    t.equal(terminal.written, '', `isTTY ${String(isTTY)}`);
    t.same(timer.intervals, [], `isTTY ${String(isTTY)}: no timer`);
  }
});
