// Reads samples out of a Prometheus text exposition: exact series, exact values.

/** The value of one exact series (name and labels as exposed, in their order), or undefined when it is not exposed. */
export function value(body: string, series: string): number | undefined {
  for (const line of body.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Every sample line starting with `prefix` (a metric name, or a name and its first labels), in exposition order. */
export function lines(body: string, prefix: string): string[] {
  return body.split('\n').filter((line) => !line.startsWith('#') && line.startsWith(prefix));
}
