import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ownBuildFolder } from './build-folder';
import { freePort } from './free-port';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLS = `${ROOT}node_modules/serverless/bin/serverless.js`;

const STORE_VARIABLES = [
  'COUNTER_STORE',
  'REDIS_URL',
  'DYNAMODB_TABLE',
  'DYNAMODB_ENDPOINT',
  'HELLO_WINDOW_SECONDS',
  'STORE_TIMEOUT_MS',
  'STORE_MAX_IDLE_SECONDS',
] as const;

export interface OfflineOptions {
  /**
   * The functions' environment; unset store variables are passed as empty, so the host's do not
   * leak in. Logs default to WARN and metrics to off.
   */
  env: Partial<Record<(typeof STORE_VARIABLES)[number] | 'LOG_LEVEL' | 'POWERTOOLS_METRICS_DISABLED', string>>;
  /** serverless.yml params, as `--param "name=value"`. */
  params?: string[];
  /** Keep the output for output() (the default), or discard it (a benchmark's millions of lines). */
  output?: 'keep' | 'discard';
  /** The HTTP port; a free one by default. */
  httpPort?: number;
  /** The Lambda invoke port; a free one by default, or `derived`: none given, as `npm start` does. */
  lambdaPort?: number | 'derived';
  /** The project folder to serve; this repository by default. */
  cwd?: string;
}

export interface Offline {
  baseUrl: string;
  get(path: string, init?: RequestInit): Promise<{ status: number; body: string; headers: Headers }>;
  output(): string;
  /** Its standard output alone: the handlers' JSON log lines, never cut by a line of stderr. */
  stdout(): string;
  stop(): Promise<void>;
}

/** Starts real serverless-offline (`sls offline start`) on free ports and waits until it answers. */
export async function startOffline({
  env,
  params = [],
  output: keep = 'keep',
  httpPort: chosenHttpPort,
  lambdaPort: chosenLambdaPort,
  cwd = ROOT,
}: OfflineOptions): Promise<Offline> {
  const httpPort = chosenHttpPort ?? (await freePort());
  const lambdaPort = chosenLambdaPort ?? (await freePort());
  const args = [
    SLS,
    'offline',
    'start',
    '--stage',
    'local',
    '--httpPort',
    String(httpPort),
    ...(lambdaPort === 'derived' ? [] : ['--lambdaPort', String(lambdaPort)]),
    ...params.flatMap((param) => ['--param', param]),
  ];
  const buildFolder = ownBuildFolder();
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      ...process.env,
      ESBUILD_WORK_FOLDER: buildFolder,
      ...Object.fromEntries(STORE_VARIABLES.map((name) => [name, ''])),
      LOG_LEVEL: 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
    stdio: ['ignore', keep === 'keep' ? 'pipe' : 'ignore', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });

  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const offline: Offline = {
    baseUrl,
    async get(path, init) {
      const response = await fetch(baseUrl + path, init);
      return { status: response.status, body: await response.text(), headers: response.headers };
    },
    output: () => output,
    stdout: () => stdout,
    async stop() {
      await stopProcess(child);
      rmSync(join(cwd, buildFolder), { recursive: true, force: true });
    },
  };
  try {
    await waitUntilListening(child, baseUrl, () => output);
  } catch (error) {
    rmSync(join(cwd, buildFolder), { recursive: true, force: true });
    throw error;
  }
  return offline;
}

/** Waits for a process that is expected to refuse to start; returns its exit code and output. */
export async function startOfflineExpectingFailure(
  options: OfflineOptions,
): Promise<{ code: number | null; output: string }> {
  try {
    const offline = await startOffline(options);
    await offline.stop();
    throw new Error(`serverless-offline started, but was expected to refuse:\n${offline.output()}`);
  } catch (error) {
    if (error instanceof ExitedError) return { code: error.code, output: error.output };
    throw error;
  }
}

class ExitedError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`serverless-offline exited with ${code}:\n${output}`);
  }
}

async function waitUntilListening(child: ChildProcess, baseUrl: string, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  // Another process can take a free port between freePort() and the bind (two tests may even be
  // handed the same one): an answer on the port counts only once this child says it is serving it.
  const ready = new RegExp(`Server ready: https?://[^\\s/]+:${new URL(baseUrl).port}\\b`);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new ExitedError(child.exitCode, output());
    // Any answer (404 for /) means the HTTP server is up; the route handlers are not called.
    // With a time limit: something else on the port may accept and never answer.
    const up =
      ready.test(output()) &&
      (await fetch(`${baseUrl}/`, { signal: AbortSignal.timeout(1_000) }).then(
        () => true,
        () => false,
      ));
    if (up) return;
    await sleep(100);
  }
  await stopProcess(child);
  throw new Error(`serverless-offline did not listen within 60 s:\n${output()}`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killTimer);
}
