// One measured layer in a plain node process of its own, so its CPU and peak RSS are its own:
//   limit   - a raw ioredis client calling the adapter's very script (SCRIPT; one EVALSHA each)
//   handler - the packaged /hello/again handler (BUNDLE), called with a synthetic event
// Closed loop: CONCURRENCY requests always in flight for WARMUP_S (discarded), then SECONDS.
// Reports through IPC: requests, errors, unexpected answers, latency in µs, peak RSS.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const { MODE, REDIS_URL, BUNDLE, SCRIPT, CONCURRENCY, SECONDS, WARMUP_S } = process.env;
const KEY = 'hello:count';

async function limitCall() {
  const { Redis } = createRequire(import.meta.url)('ioredis');
  const client = new Redis(REDIS_URL);
  client.defineCommand('incrementWhileOpen', { numberOfKeys: 2, lua: SCRIPT });
  // The adapter's arguments: its connection's ring of outcomes, a deadline far enough ahead that
  // the script always runs, the write's seq on this connection, and the ring's expiry renewed first.
  let seq = 0;
  const increment = () => {
    seq += 1;
    return client.incrementWhileOpen(KEY, `{${KEY}}:outcomes:bench`, Date.now() + 5_000, seq, seq === 1 ? '1' : '0');
  };
  await increment(); // loads the script: EVALSHA from here on
  return async () => typeof (await increment()) === 'number';
}

async function handlerCall() {
  const { handler } = await import(pathToFileURL(BUNDLE).href); // an ES module bundle, or a CommonJS one of an older commit
  const event = { version: '2.0', rawPath: '/hello/again', requestContext: { http: { method: 'GET' } } };
  let request = 0;
  const context = () => ({
    functionName: 'elecle-hello-bench-helloAgain',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:elecle-hello-bench-helloAgain',
    memoryLimitInMB: '1024',
    awsRequestId: `bench-${++request}`,
  });
  return async () => {
    const result = await handler(event, context());
    return result.statusCode === 200 && result.body.startsWith('Hello ELECLE ');
  };
}

async function run(call, seconds, record) {
  const latencies = [];
  let errors = 0;
  let unexpected = 0;
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const startedAt = process.hrtime.bigint();
      try {
        if (!(await call())) unexpected += 1;
      } catch {
        errors += 1;
      }
      if (record) latencies.push(Number(process.hrtime.bigint() - startedAt) / 1000);
    }
  };
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: Number(CONCURRENCY) }, loop));
  return { latencies, errors, unexpected, elapsedS: (performance.now() - startedAt) / 1000 };
}

const call = MODE === 'limit' ? await limitCall() : await handlerCall();
await run(call, Number(WARMUP_S), false);
const { latencies, errors, unexpected, elapsedS } = await run(call, Number(SECONDS), true);
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
process.send({
  requests: latencies.length,
  errors,
  unexpected,
  rps: latencies.length / elapsedS,
  p50us: at(0.5),
  p99us: at(0.99),
  maxRssMb: process.resourceUsage().maxRSS / 1024,
});
process.disconnect();
setTimeout(() => process.exit(0), 100).unref();
