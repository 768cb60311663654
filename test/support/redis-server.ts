import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, sleep } from './free-port';

/**
 * A real redis-server (Debian's package) on a free loopback port, owned by the test: it can be
 * stopped, frozen with SIGSTOP and started again on the same port.
 */
export class TestRedisServer {
  #process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedisServer> {
    requireRedisServer();
    const server = new TestRedisServer(await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client for assertions; the caller quits it. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1 });
  }

  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    this.#process = child;
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refusals are expected until the server listens
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Ends the process: new connections are refused until restart(). */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    this.thaw();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Connections stay open but nothing answers, as with a hung server. */
  freeze(): void {
    this.#process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#process?.kill('SIGCONT');
  }
}

function requireRedisServer(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'redis-server is not installed: run `apt-get install redis-server` (Debian/Ubuntu) or `brew install redis`.',
    );
  }
}

/** How many clients Redis has, not counting the one asking. */
export async function countClients(client: Redis): Promise<number> {
  const list = await client.client('LIST');
  return String(list).trim().split('\n').length - 1;
}
