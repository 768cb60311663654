import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_KEY } from '../../lib/hello';
import type { Offline } from '../support/offline';
import { openWindow } from '../support/open-window';
import { countClients } from '../support/redis-server';
import { type Stack, startStack } from '../support/stack';

// Long enough for 200 concurrent requests on a slow machine. The window's end, and that it leaves no
// key behind, is test/e2e/expiry-boundary.test.ts's.
const WINDOW_SECONDS = 4;
const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' };

describe('HTTP: /hello and /hello/again through serverless-offline and Redis', () => {
  let stack: Stack<'redis'>;
  let inspector: Redis;
  let offline: Offline;

  beforeAll(async () => {
    stack = await startStack({ store: 'redis', env: { HELLO_WINDOW_SECONDS: String(WINDOW_SECONDS) } });
    ({ inspector, offline } = stack);
  });

  afterAll(() => stack?.stop());

  const expectText = async (path: string, body: string) => {
    const response = await offline.get(path);
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body });
    expect(response.headers.get('content-type')).toBe(TEXT['content-type']);
    expect(response.headers.get('cache-control')).toBe(TEXT['cache-control']);
  };

  it('answers "Expired!" to /hello/again before any /hello, and stores nothing', async () => {
    await expectText('/hello/again', 'Expired!');
    expect(await inspector.exists(HELLO_KEY)).toBe(0);
  });

  it('answers "Hello ELECLE 1" to /hello and stores 1 with the window as expiry', async () => {
    await expectText('/hello', 'Hello ELECLE 1');
    expect(await inspector.get(HELLO_KEY)).toBe('1');
    const ttl = await inspector.pttl(HELLO_KEY);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_SECONDS * 1000);
  });

  it('counts up with /hello/again inside the window, and /hello resets to 1', async () => {
    await expectText('/hello', 'Hello ELECLE 1');
    await expectText('/hello/again', 'Hello ELECLE 2');
    await expectText('/hello/again', 'Hello ELECLE 3');
    expect(await inspector.get(HELLO_KEY)).toBe('3');
    await expectText('/hello', 'Hello ELECLE 1');
    await expectText('/hello/again', 'Hello ELECLE 2');
  });

  it.each([
    ['HEAD', '/hello', 404], // no route matches HEAD, as in API Gateway (docs/local-vs-api-gateway.md)
    ['HEAD', '/hello/again', 404],
    ['POST', '/hello', 404],
    ['PUT', '/hello/again', 404],
    ['DELETE', '/hello', 404],
    ['GET', '/', 404],
    ['GET', '/hello/again/again', 404],
    ['GET', '/helloagain', 404],
  ])('answers %s %s with %i and leaves the count as it was', async (method, path, status) => {
    // At 2, so that a reset to 1 and a count to 3 both show.
    await openWindow(offline);
    const response = await offline.get(path, { method });
    const countAfter = await inspector.get(HELLO_KEY);
    const next = (await offline.get('/hello/again')).body;
    expect({ status: response.status, countAfter, next }).toEqual({ status, countAfter: '2', next: 'Hello ELECLE 3' });
  });

  it('returns each of 2..201 exactly once to 200 concurrent /hello/again', async () => {
    await expectText('/hello', 'Hello ELECLE 1');
    const responses = await Promise.all(Array.from({ length: 200 }, () => offline.get('/hello/again')));
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    const numbers = responses.map((response) => Number(response.body.replace('Hello ELECLE ', '')));
    expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
    expect(await inspector.get(HELLO_KEY)).toBe('201');
  });

  it('holds one Redis connection per function (hello, helloAgain, health), however many requests it serves', async () => {
    await Promise.all(Array.from({ length: 50 }, () => offline.get('/hello/again')));
    const afterBurst = await countClients(inspector);
    for (let i = 0; i < 50; i += 1) await offline.get(i % 2 ? '/hello' : '/hello/again');
    expect(afterBurst).toBe(3);
    expect(await countClients(inspector)).toBe(3);
  });
});
