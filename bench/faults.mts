// npm run bench:faults: what a client sees during each fault, and how fast answers are right again.
// Real serverless-offline, real redis-server and dynalite (in its own process), each behind the
// fault proxy. For each fault: open a window, apply the fault, ask /hello/again one request at a
// time for HOLD_MS, heal, and time until the next right answer. Prints a Markdown table.
import { setTimeout as sleep } from 'node:timers/promises';

import { type ChaosTarget, dynamoDbTarget, redisTarget } from '../test/chaos/targets.js';
import { askFor, countedNumbers, type TimedAnswer, timedGet } from '../test/support/answers.js';
import { startOffline } from '../test/support/offline.js';

const HOLD_MS = 1_500;
const IDLE_SECONDS = 2;

async function measure(target: ChaosTarget, faults: string[]): Promise<string[]> {
  const offline = await startOffline({
    env: {
      ...target.env,
      HELLO_WINDOW_SECONDS: '600',
      STORE_TIMEOUT_MS: '500',
      STORE_MAX_IDLE_SECONDS: String(IDLE_SECONDS),
    },
    output: 'discard',
  });
  const rows: string[] = [];
  try {
    for (const name of [...faults, 'idle-then-half-open']) {
      // The previous fault may have left a connection to replace: open the window for sure.
      while ((await timedGet(offline, '/hello')).body !== 'Hello ELECLE 1') await sleep(50);
      const [before = Number.NaN] = countedNumbers([await timedGet(offline, '/hello/again')]);
      let heal: () => Promise<void>;
      if (name === 'idle-then-half-open') {
        await sleep(IDLE_SECONDS * 1000 + 300);
        heal = await (target.faults['half-open']?.apply(Math.random) ?? Promise.resolve(async () => {}));
      } else {
        heal = await (target.faults[name]?.apply(() => 0.9) ?? Promise.reject(new Error(`no fault ${name}`)));
      }
      const during = await askFor(offline, '/hello/again', HOLD_MS);
      await heal();
      const healedAt = performance.now();
      let after: TimedAnswer = await timedGet(offline, '/hello/again');
      while (after.status !== 200 && performance.now() - healedAt < 10_000)
        after = await timedGet(offline, '/hello/again');
      const shown = countedNumbers([...during, after]);
      const lost = shown.length === 0 ? 'n/a' : String(Math.max(...shown) - before - shown.length);
      const statuses = (status: number) => during.filter((answer) => answer.status === status).length;
      rows.push(
        `| ${target.store} | ${name} | ${statuses(200)} × 200, ${statuses(503)} × 503 | ${Math.round(Math.max(...during.map((answer) => answer.ms)))} ms | ${Math.round(performance.now() - healedAt)} ms | ${after.body} | ${lost} |`,
      );
    }
  } finally {
    await offline.stop();
    await target.stop();
  }
  return rows;
}

console.log(
  `| store | fault (held ${HOLD_MS / 1000} s) | answers during it | slowest answer | right again after healing | first answer after | numbers skipped |`,
);
console.log('|---|---|---|---|---|---|---|');
const common = ['kill', 'freeze', 'half-open', 'reset', 'latency', 'refuse-new', 'hang-new', 'flush'];
for (const row of await measure(await redisTarget(), common)) console.log(row);
for (const row of await measure(await dynamoDbTarget(), [...common, 'throttle'])) console.log(row);
