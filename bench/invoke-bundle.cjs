// Runs inside a fresh node process: imports a packaged function bundle (an ES module: importing it
// runs its init phase, the top-level await), answers one synthetic API Gateway v2 GET event (the
// cold start), then WARM_CALLS more (warm latency), and prints one JSON line with the first answer
// and the timings. Used by npm run bench, bench/lambda-memory.sh and test/deploy/bundles.test.ts;
// plain CommonJS so it needs nothing but node.
const { pathToFileURL } = require('node:url');

const event = { version: '2.0', rawPath: '/', requestContext: { http: { method: 'GET' } } };

(async () => {
  const { handler } = await import(pathToFileURL(process.argv[2]).href);
  const loadedAt = performance.now(); // performance.now() counts from this process's start
  const first = await handler(event);
  const coldMs = performance.now();
  const samples = [];
  for (let i = 0; i < Number(process.env.WARM_CALLS ?? 300); i += 1) {
    const t = performance.now();
    await handler(event);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const pick = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN;
  console.log(
    JSON.stringify({
      first: { statusCode: first.statusCode, headers: first.headers, body: first.body },
      processStartToImportedMs: +loadedAt.toFixed(1),
      processStartToFirstAnswerMs: +coldMs.toFixed(1),
      firstAnswerMs: +(coldMs - loadedAt).toFixed(1),
      warmP50Ms: +pick(0.5).toFixed(3),
      warmP99Ms: +pick(0.99).toFixed(3),
      rssMb: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
    }),
  );
  process.exit(0);
})();
