import { createRequire } from 'node:module';

/** The parts of a serverless.yml service the project's plugins read. */
export interface ServiceShape {
  stage?: string;
  provider?: { environment?: Record<string, unknown>; httpApi?: { cors?: unknown }; region?: string };
  functions?: Record<
    string,
    { events?: unknown[]; environment?: Record<string, unknown>; handler?: string; name?: string }
  >;
  custom?: Record<string, unknown>;
}

/** A thrown error as the framework would print it. */
export class ServerlessError extends Error {}

/**
 * The framework's side of a plugin, as much as this project's plugins use: the service, the stage,
 * the error class and a log that keeps what it is told. For unit tests of a plugin's own decisions;
 * `sls offline` and `sls package` run the plugins for real in the end-to-end and deploy tests.
 */
export function serverlessStandIn(shape: ServiceShape, servicePath = process.cwd()) {
  const logged: { level: string; message: string }[] = [];
  const serverless = {
    service: {
      provider: shape.provider ?? {},
      functions: shape.functions ?? {},
      custom: shape.custom ?? {},
    },
    config: { servicePath },
    classes: { Error: ServerlessError },
    getProvider: () => ({ getStage: () => shape.stage ?? 'local' }),
  };
  const log = {
    notice: (message: string) => logged.push({ level: 'notice', message }),
    warning: (message: string) => logged.push({ level: 'warning', message }),
  };
  return { serverless, log, logged };
}

const require = createRequire(import.meta.url);

type Hooks = Record<string, () => unknown>;
type PluginClass = new (serverless: unknown, options: Record<string, unknown>, utils: unknown) => { hooks: Hooks };

/** One of the plugins under tools/, loaded as the framework loads it. */
export function loadPlugin(name: 'serverless-config-check' | 'offline/plugin'): PluginClass {
  return require(`../../tools/${name}.cjs`) as PluginClass;
}
