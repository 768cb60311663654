import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, describeStore, readConfig } from './config';
import { type CounterStore, createCounterStore } from './counter';
import { instrumented, logger } from './telemetry';

export interface Service {
  config: Config;
  store: CounterStore;
}

/**
 * How long the init phase tries to reach the store. An on-demand cold start in Lambda has a request
 * waiting on it, which is better answered 503 within the store's timeout than kept waiting: one
 * attempt. Provisioned concurrency, SnapStart and a local runner initialise before any request
 * arrives, and can wait out a slow first connect (Lambda allows an init phase 10 s).
 */
const INIT_PATIENCE_MS = process.env.AWS_LAMBDA_INITIALIZATION_TYPE === 'on-demand' ? 0 : 5_000;

type Built = { service: Service; uninstrumentedStore: CounterStore } | { error: unknown };

/**
 * Built once per function instance, in its init phase: this module's top-level await, which Lambda
 * (and any loader) finishes before the module's first use. A bad configuration fails at cold start
 * (and is logged once, naming the variable), and the store has answered before the first request.
 */
const built = await build();
if ('service' in built) await reachStore(built.uninstrumentedStore);

async function build(): Promise<Built> {
  try {
    const config = readConfig(process.env);
    logger.appendPersistentKeys({ store: config.store.kind });
    const store = await createCounterStore(config.store);
    logger.info('service configured', { storeDetail: describeStore(config), windowMs: config.windowMs });
    return { service: { config, store: instrumented(store) }, uninstrumentedStore: store };
  } catch (error) {
    logger.error('cannot start: invalid configuration', { error });
    return { error };
  }
}

/**
 * The init phase's wait for the store: it has answered a read that changes nothing, or could not
 * within INIT_PATIENCE_MS (the reason is logged, and requests answer 503 until it does). The read is
 * not a request: it records no metric.
 */
async function reachStore(store: CounterStore): Promise<void> {
  // No request is waiting yet: a connection that one request would give up on (a busy machine
  // loading the other functions, a slow DNS answer in a container) is tried again, for a while.
  const giveUpAt = Date.now() + INIT_PATIENCE_MS;
  for (;;) {
    try {
      await store.ping();
      return;
    } catch {
      if (Date.now() >= giveUpAt) return;
      await sleep(200);
    }
  }
}

/** The instance's service; throws the error that kept it from starting (every request answers it). */
export function getService(): Service {
  if ('error' in built) throw built.error;
  return built.service;
}
