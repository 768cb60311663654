// `sls offline` answering as the deployed HTTP API does (tools/offline/http-api-rules.cjs), the table in the
// docs/local-vs-api-gateway.md "Local answers vs API Gateway", and what starting on a taken or moved port says.

import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port';
import { type Offline, startOffline, startOfflineExpectingFailure } from '../support/offline';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request sent with its path exactly as given (fetch would resolve `/x/../hello` first). */
function raw(baseUrl: string, method: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const corsHeaders = (headers: RawAnswer['headers']) =>
  Object.keys(headers).filter((name) => name.startsWith('access-control-'));

describe('Local answers vs API Gateway: routing, CORS and Range', () => {
  let offline: Offline;

  beforeAll(async () => {
    offline = await startOffline({ env: {} });
  }, 60_000);

  afterAll(() => offline?.stop());

  /** Opens a window, sends the request, and returns its answer and the count it left behind. */
  const afterHello = async (method: string, path: string, headers: Record<string, string> = {}) => {
    expect((await offline.get('/hello')).body).toBe('Hello ELECLE 1');
    const answer = await raw(offline.baseUrl, method, path, headers);
    const next = (await offline.get('/hello/again')).body;
    return { answer, counted: next === 'Hello ELECLE 3' };
  };

  it.each([
    ['GET', '/hello/'],
    ['GET', '/hello/again/'],
    ['GET', '/hell%6F'],
    ['GET', '/hello%2Fagain'],
    ['GET', '/x/../hello'],
    ['GET', '/./hello'],
    ['GET', '/HELLO'],
    ['GET', '/nope'],
    ['HEAD', '/hello'],
    ['POST', '/hello'],
    ['OPTIONS', '/hello'],
  ])(
    'answers %s %s with 404 {"message":"Not Found"}, as API Gateway does, and runs no function',
    async (method, path) => {
      const { answer, counted } = await afterHello(method, path);
      expect(answer.status).toBe(404);
      expect(counted).toBe(false);
      if (method !== 'HEAD') {
        expect(answer.body).toBe('{"message":"Not Found"}');
        expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      }
    },
  );

  it('counts /hello/again with a query string, as the route matches the path alone', async () => {
    const { answer, counted } = await afterHello('GET', '/hello/again?x=1');
    expect({ status: answer.status, body: answer.body, counted }).toEqual({
      status: 200,
      body: 'Hello ELECLE 2',
      counted: true,
    });
  });

  it('answers a Range request with the whole body and 200, as API Gateway does, and counts it', async () => {
    const { answer, counted } = await afterHello('GET', '/hello/again', { range: 'bytes=0-4' });
    expect({ status: answer.status, body: answer.body, counted }).toEqual({
      status: 200,
      body: 'Hello ELECLE 2',
      counted: true,
    });
    expect(answer.headers['content-range']).toBeUndefined();
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('adds no CORS headers to an answer for another origin (the HTTP API configures no CORS)', async () => {
    const answer = await raw(offline.baseUrl, 'GET', '/hello', { origin: 'http://cafe.example' });
    expect(answer.status).toBe(200);
    expect(corsHeaders(answer.headers)).toEqual([]);
  });

  it('answers a CORS preflight 404 with no CORS headers, so a browser refuses the call', async () => {
    const answer = await raw(offline.baseUrl, 'OPTIONS', '/hello', {
      origin: 'http://cafe.example',
      'access-control-request-method': 'GET',
    });
    expect(answer.status).toBe(404);
    expect(corsHeaders(answer.headers)).toEqual([]);
  });

  it('answers an unknown method with an empty 400 from Node, before any route (emulator only)', async () => {
    const { answer, counted } = await afterHello('FOO', '/hello');
    expect({ status: answer.status, body: answer.body, counted }).toEqual({ status: 400, body: '', counted: false });
  });
});

describe('Local ports: a taken port, a moved port, the banner and stopping', () => {
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    blockedPort = await freePort();
    blocker = createServer((socket) => socket.destroy());
    // On `localhost`, as serverless-offline listens by default.
    await new Promise<void>((resolve) => blocker.listen(blockedPort, 'localhost', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('refuses a taken HTTP port with one line naming the port and the fix, and no crash dump', async () => {
    const { code, output } = await startOfflineExpectingFailure({ env: {}, httpPort: blockedPort });
    expect(code).toBe(1);
    expect(output).toContain(
      `Port ${blockedPort} on localhost is already in use. Stop what uses it (lsof -i :${blockedPort}), or choose another: npm start -- --httpPort ${blockedPort + 10}`,
    );
    expect(output).not.toMatch(/EADDRINUSE|goroutine|Server ready/);
  }, 60_000);

  it('runs two copies when only --httpPort differs: the invoke port follows the HTTP port', async () => {
    // Prepare
    const started: Offline[] = [];
    try {
      // Act
      for (let i = 0; i < 2; i += 1) started.push(await startOffline({ env: {}, lambdaPort: 'derived' }));

      // Assess
      for (const copy of started) {
        expect((await copy.get('/hello')).body).toBe('Hello ELECLE 1');
        const httpPort = Number(new URL(copy.baseUrl).port);
        const invokeLine = copy.output().match(/Offline \[http for lambda\] listening on http:\/\/localhost:(\d+)\n/);
        expect(Number(invokeLine?.[1])).toBeGreaterThan(0);
        expect(Number(invokeLine?.[1])).not.toBe(httpPort);
        // The route box lists only routes that answer on the HTTP port.
        expect(copy.output()).toContain(`GET  | http://localhost:${httpPort}/hello`);
        expect(copy.output()).not.toContain('/2015-03-31/functions/');
      }
    } finally {
      for (const copy of started) await copy.stop();
    }
    for (const copy of started) {
      for (let i = 0; i < 20 && !copy.output().includes('stopped cleanly'); i += 1) await sleep(50);
      expect(copy.output()).toContain('serverless-offline stopped cleanly.');
    }
  }, 120_000);
});
