import type { BenchResults, BenchRow } from './chart.mjs';

/** How much worse, relative to the same run's physical limit, a layer may get before it is flagged. */
export const TOLERANCE = 0.1;

export interface Regression {
  layer: string;
  concurrency: number;
  /** The layer's req/s over the limit row's at the same concurrency, now and in the earlier run. */
  now: number;
  before: number;
}

/**
 * The layers that got more than TOLERANCE worse than in `before`. Absolute req/s move from machine
 * to machine (and with what else runs), so each row is first divided by the same run's `limit` row
 * at its concurrency (raw ioredis running the script: Redis and the machine, nothing of ours).
 */
export function regressions(now: BenchResults, before: BenchResults): Regression[] {
  const share = (results: BenchResults, row: BenchRow) => {
    const limit = results.rows.find((r) => r.layer === 'limit' && r.concurrency === row.concurrency);
    return limit ? row.rps / limit.rps : undefined;
  };
  const found: Regression[] = [];
  for (const row of now.rows) {
    if (row.layer === 'limit') continue;
    const earlier = before.rows.find((r) => r.layer === row.layer && r.concurrency === row.concurrency);
    const nowShare = share(now, row);
    const beforeShare = earlier && share(before, earlier);
    if (nowShare === undefined || beforeShare === undefined) continue;
    if (nowShare < beforeShare * (1 - TOLERANCE)) {
      found.push({ layer: row.layer, concurrency: row.concurrency, now: nowShare, before: beforeShare });
    }
  }
  return found;
}

/** One warning line per regression, or a line saying there is none. */
export function describeRegressions(found: Regression[], before: BenchResults): string[] {
  const since = `the committed bench/results.json (${before.date.slice(0, 10)}, node ${before.machine.node})`;
  if (found.length === 0)
    return [`No layer is more than ${TOLERANCE * 100}% worse than in ${since}, as a share of the limit row.`];
  return found.map(
    ({ layer, concurrency, now, before: then }) =>
      `WARNING: ${layer} c=${concurrency} is ${Math.round((1 - now / then) * 100)}% worse than in ${since}: ` +
      `${(now * 100).toFixed(1)}% of the limit row's req/s, was ${(then * 100).toFixed(1)}%`,
  );
}
