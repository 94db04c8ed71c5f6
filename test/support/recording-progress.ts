// A replay Progress that records what it is told, for tests of what the readers and the replay loop report.

import type { Progress } from '../../src/replay/progress.ts';

/** Every call, in order, as text; consecutive reads of one input summed (how a stream is cut into chunks is not the contract). */
export class RecordingProgress implements Progress {
  readonly live: boolean;
  readonly calls: string[] = [];
  records = 0;
  changes = 0;

  constructor(live = true) {
    this.live = live;
  }

  known(files: number, bytes: number | undefined): void {
    this.calls.push(`known ${files} ${bytes ?? '?'}`);
  }

  read(bytes: number): void {
    const last = this.calls.at(-1);
    if (last?.startsWith('read ') === true) this.calls[this.calls.length - 1] = `read ${Number(last.slice(5)) + bytes}`;
    else this.calls.push(`read ${bytes}`);
  }

  inputDone(): void {
    this.calls.push('done');
  }

  counted(records: number, changes: number): void {
    this.records += records;
    this.changes += changes;
  }

  stop(): void {
    this.calls.push('stop');
  }
}
