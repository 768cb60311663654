import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake service does wrong on one path. */
export type Fault =
  | { kind: 'content-type'; value: string }
  | { kind: 'no cache-control' }
  | { kind: 'body'; value: string }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'never answers' }
  | { kind: 'closes the connection' };

/**
 * A stand-in for the service on a free loopback port, for tests of the smoke tool: right everywhere
 * but `fault` on `faultyPath`, under `basePath` (an API Gateway stage, say).
 */
export async function fakeService(faultyPath?: string, fault?: Fault, basePath = '') {
  let count = 0;
  const server = createServer((request, response: ServerResponse) => {
    const url = request.url ?? '/';
    const path = url.startsWith(`${basePath}/`) ? url.slice(basePath.length) : url;
    const known = ['/health', '/hello', '/hello/again'].includes(path);
    if (path === '/hello') count = 1;
    if (path === '/hello/again') count += 1;
    let status = known ? 200 : 404;
    let body = path === '/health' ? 'ok' : known ? `Hello ELECLE ${count}` : 'Not Found';
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    };
    if (path === faultyPath && fault) {
      if (fault.kind === 'never answers') return;
      if (fault.kind === 'closes the connection') {
        request.socket.destroy();
        return;
      }
      if (fault.kind === 'content-type') headers['content-type'] = fault.value;
      if (fault.kind === 'no cache-control') delete headers['cache-control'];
      if (fault.kind === 'body') body = fault.value;
      if (fault.kind === 'status') ({ status, body } = fault);
    }
    response.writeHead(status, headers).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections(); // the requests left hanging too
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
