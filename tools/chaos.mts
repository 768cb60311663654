// npm run chaos -- [--minutes N] [--store redis|dynamodb] [--seed S] [--chart file.svg] [--log file]
// Load with random faults against real serverless-offline and a real store behind a fault proxy;
// prints one table row per store and every anomaly the history checker found. Exit 1 on any.
// --chart (with one --store) draws the run: every answer over time, the faults shaded; a long run
// as answers per second by kind, the faults as a band by kind (test/chaos/chart.ts says when).
// --log (with one --store) keeps the service's WARN and ERROR lines (each lost reply and how it
// settled), then each fault as a JSON line {fault, start, end}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { formatResult, runChaos, TABLE_HEADER } from '../test/chaos/chaos.js';
import { chaosChart } from '../test/chaos/chart.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    store: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    chart: { type: 'string' },
    log: { type: 'string' },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) throw new Error(`--minutes must be a positive number (got "${values.minutes}")`);
const stores = values.store ? [values.store] : ['redis', 'dynamodb'];
for (const store of stores) {
  if (store !== 'redis' && store !== 'dynamodb') throw new Error(`--store must be redis or dynamodb (got "${store}")`);
}
if ((values.chart || values.log) && stores.length > 1) {
  throw new Error('--chart and --log are of one run: add --store redis or --store dynamodb');
}

console.log(`chaos: ${minutes} min per store, seed ${values.seed} (rerun with --seed ${values.seed})\n`);
console.log(TABLE_HEADER);
let anomalies = 0;
for (const store of stores as ('redis' | 'dynamodb')[]) {
  const result = await runChaos({ store, seconds: minutes * 60, seed: Number(values.seed), logFile: values.log });
  console.log(formatResult(result));
  const causes = Object.entries(result.unknownFaults).sort(([, a], [, b]) => b - a);
  if (causes.length > 0) console.log(`  ${store} unknowns: ${causes.map(([cause, n]) => `${cause} ${n}`).join('; ')}`);
  if (result.stalls > 0) console.log(`  ${store}: the harness stalled ${result.stalls} times`);
  for (const anomaly of result.anomalies.slice(0, 20)) console.error(`  ${store}: ${anomaly}`);
  anomalies += result.anomalies.length;
  if (values.chart) {
    mkdirSync(dirname(values.chart), { recursive: true });
    writeFileSync(values.chart, chaosChart(result));
    console.log(`chart: ${values.chart}`);
  }
}
// Exit explicitly: one 10-minute run kept its process busy after printing (not reproduced since).
process.exit(anomalies === 0 ? 0 : 1);
