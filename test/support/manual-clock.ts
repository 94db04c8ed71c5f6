// A clock the test moves by hand, injected as the service's `now`, so windows, ages and staleness are exact.

export class ManualClock {
  private time: number;

  constructor(start: number) {
    this.time = start;
  }

  readonly now = (): number => this.time;

  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }
}
