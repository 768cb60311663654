import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './free-port';
import { isRunning, kill } from './processes';
import { makeTlsCertificate, type TlsFiles } from './tls-certificate';

/** Each server's folder, removed when the process that made it exits (a server may be restarted until then). */
const folders = new Set<string>();
process.once('exit', () => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/**
 * A real redis-server (Debian's package) on a free loopback port, owned by the test: it can be
 * stopped, frozen with SIGSTOP and started again on the same port; optionally TLS-only.
 */
export class TestRedisServer {
  #process: ChildProcess | undefined;
  /** Where SAVE writes dump.rdb, and where a restart loads it from. */
  readonly #dir = mkdtempSync(join(tmpdir(), 'elecle-redis-'));

  private constructor(
    readonly port: number,
    /** Set when the server speaks only TLS on `port`. */
    readonly tls: TlsFiles | undefined,
    /** Set when the server requires AUTH. */
    readonly password: string | undefined,
  ) {
    folders.add(this.#dir);
  }

  static async start({ tls = false, password }: { tls?: boolean; password?: string } = {}): Promise<TestRedisServer> {
    requireRedisServer();
    const server = new TestRedisServer(await freePort(), tls ? makeTlsCertificate() : undefined, password);
    await server.restart();
    return server;
  }

  get url(): string {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `${this.tls ? 'rediss' : 'redis'}://${auth}localhost:${this.port}`;
  }

  /** A client for assertions (trusting the test CA under TLS); the caller quits it. */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis(this.url, {
      maxRetriesPerRequest: 1,
      ...(this.tls ? { tls: { ca: this.tls.ca } } : {}),
      ...options,
    });
    // Tests stop this server on purpose: the client's reconnect errors are expected, not news.
    client.on('error', () => {});
    return client;
  }

  /** Starts the process again; `args` are extra redis-server options for this run. */
  async restart(args: string[] = []): Promise<void> {
    this.#process = spawn(
      'redis-server',
      [
        ...this.#listenArgs(),
        ...(this.password ? ['--requirepass', this.password] : []),
        ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir],
        ...args,
      ],
      { stdio: 'ignore' },
    );
    const child = this.#process;
    const probe = this.client({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    for (let attempt = 0; attempt < 100 && child.exitCode === null; attempt += 1) {
      const pid = await answeringPid(probe);
      if (pid === child.pid) return;
      // Another test's server on the same port would answer too: it must be this one.
      if (pid !== undefined) throw new Error(`port ${this.port} is served by another redis-server (pid ${pid})`);
      await sleep(50);
    }
    throw new Error(`redis-server did not start on port ${this.port} (exit code ${child.exitCode})`);
  }

  #listenArgs(): string[] {
    if (!this.tls) return ['--port', String(this.port)];
    const { certFile, keyFile, caFile } = this.tls;
    return [
      '--port',
      '0',
      '--tls-port',
      String(this.port),
      '--tls-cert-file',
      certFile,
      '--tls-key-file',
      keyFile,
      '--tls-ca-cert-file',
      caFile,
      '--tls-auth-clients',
      'no',
    ];
  }

  get running(): boolean {
    return isRunning(this.#process);
  }

  /** Ends the process: new connections are refused until restart(). */
  stop(): Promise<void> {
    return kill(this.#process);
  }

  /** For exit handlers, which cannot wait. */
  stopSync(): void {
    this.thaw();
    this.#process?.kill('SIGKILL');
  }

  /** Connections stay open but nothing answers, as with a hung server. */
  freeze(): void {
    this.#process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#process?.kill('SIGCONT');
  }
}

/** The pid of the redis-server that answers the probe, or undefined while none does (or it is loading). */
async function answeringPid(probe: Redis): Promise<number | undefined> {
  try {
    await probe.connect();
    await probe.ping(); // refused while the server loads its dataset
    const pid = /^process_id:(\d+)/m.exec(await probe.info('server'))?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
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
