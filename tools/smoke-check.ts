// The checks behind `npm run smoke`: /health, then /hello and /hello/again twice, each answer
// checked for its status, body, content type and cache header. It opens a new window (resets the
// count), as any /hello does.

const TIMEOUT_MS = 5_000;
const STEPS = [
  { path: '/health', body: 'ok' },
  { path: '/hello', body: 'Hello ELECLE 1' },
  { path: '/hello/again', body: 'Hello ELECLE 2' },
  { path: '/hello/again', body: 'Hello ELECLE 3' },
];

/** What is wrong with the answer to one step, or undefined when it is right. */
async function check(base: URL, path: string, expected: string, timeoutMs: number): Promise<string | undefined> {
  const response = await fetch(new URL(path.slice(1), base), { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  const contentType = response.headers.get('content-type');
  if (response.status !== 200 || body !== expected) {
    return `expected 200 "${expected}", got ${response.status} "${body.slice(0, 200)}"`;
  }
  if (contentType !== 'text/plain; charset=utf-8') return `expected text/plain; charset=utf-8, got ${contentType}`;
  if (response.headers.get('cache-control') !== 'no-store') return 'expected Cache-Control: no-store';
  return undefined;
}

/** Runs every step against `raw` (a base URL), printing one line each and a summary; returns how many failed. */
export async function smoke(raw: string, print: (line: string) => void, timeoutMs = TIMEOUT_MS): Promise<number> {
  // A base without a trailing slash would lose its last segment (an API Gateway stage) to new URL().
  const base = new URL(raw.endsWith('/') ? raw : `${raw}/`);
  let failed = 0;
  for (const { path, body } of STEPS) {
    const startedAt = performance.now();
    const problem = await check(base, path, body, timeoutMs).catch((error: Error) => `no answer: ${error.message}`);
    const ms = Math.round(performance.now() - startedAt);
    print(problem ? `FAIL GET ${path}: ${problem} (${ms} ms)` : `ok   GET ${path} -> 200 "${body}" (${ms} ms)`);
    if (problem) failed += 1;
  }
  print(`smoke ${base.href}: ${STEPS.length - failed} passed, ${failed} failed`);
  return failed;
}
