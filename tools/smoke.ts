// Smoke test for any running copy of the service: npm run smoke -- <base-url>
// Checks /health, then /hello and /hello/again twice, and exits 0 only when every answer is right.
// It opens a new window (resets the count), as any /hello does.

const TIMEOUT_MS = 5_000;
const STEPS = [
  { path: '/health', body: 'ok' },
  { path: '/hello', body: 'Hello ELECLE 1' },
  { path: '/hello/again', body: 'Hello ELECLE 2' },
  { path: '/hello/again', body: 'Hello ELECLE 3' },
];

async function check(base: URL, path: string, expected: string): Promise<string | undefined> {
  const response = await fetch(new URL(path.slice(1), base), { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await response.text();
  const contentType = response.headers.get('content-type');
  if (response.status !== 200 || body !== expected) {
    return `expected 200 "${expected}", got ${response.status} "${body.slice(0, 200)}"`;
  }
  if (contentType !== 'text/plain; charset=utf-8') return `expected text/plain; charset=utf-8, got ${contentType}`;
  if (response.headers.get('cache-control') !== 'no-store') return 'expected Cache-Control: no-store';
  return undefined;
}

async function main(): Promise<number> {
  const raw = process.argv[2];
  if (!raw || !/^https?:\/\//.test(raw)) {
    console.error('usage: npm run smoke -- <base-url>   (e.g. http://localhost:8000)');
    return 2;
  }
  // A base without a trailing slash would lose its last segment (an API Gateway stage) to new URL().
  const base = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  let failed = 0;
  for (const { path, body } of STEPS) {
    const startedAt = performance.now();
    const problem = await check(base, path, body).catch((error: Error) => `no answer: ${error.message}`);
    const ms = Math.round(performance.now() - startedAt);
    console.log(problem ? `FAIL GET ${path}: ${problem} (${ms} ms)` : `ok   GET ${path} -> 200 "${body}" (${ms} ms)`);
    if (problem) failed += 1;
  }
  console.log(`smoke ${base.href}: ${STEPS.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code));
