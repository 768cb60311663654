import { setTimeout as sleep } from 'node:timers/promises';
import { type Config, describeStore, readConfig } from './config';
import { type CounterStore, createCounterStore } from './counter';
import { instrumented, logger } from './telemetry';

export interface Service {
  config: Config;
  store: CounterStore;
}

/** How long the init phase tries to reach the store (Lambda allows an init phase 10 s). */
const INIT_PATIENCE_MS = 5_000;

type Built = { service: Service; uninstrumentedStore: CounterStore } | { error: unknown };

/**
 * Built once per function instance, at import: a bad configuration fails at cold start (and is
 * logged once, naming the variable), and the store connects before the first request arrives.
 */
const built = build();

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
 * This instance's init phase: true once the service is built and its store has answered a read
 * that changes nothing; false when it could not be within INIT_PATIENCE_MS (the reason is logged,
 * and requests answer 503 until the store works). Never rejects. It starts at import, so in Lambda the connection opens
 * during the init phase; `sls offline` waits for it before it accepts a request
 * (tools/offline-gateway.cjs), so a first burst never waits for a connection. The read is not a
 * request: it records no metric.
 */
export const initialized: Promise<boolean> = built.then(async (outcome) => {
  if ('error' in outcome) return false;
  // No request is waiting yet: a connection that one request would give up on (a busy machine
  // loading the other functions, a slow DNS answer in a container) is tried again, for a while.
  const giveUpAt = Date.now() + INIT_PATIENCE_MS;
  for (;;) {
    try {
      await outcome.uninstrumentedStore.ping();
      return true;
    } catch {
      if (Date.now() >= giveUpAt) return false;
      await sleep(200);
    }
  }
});

/** The instance's service, or the error that kept it from starting (every request answers it). */
export async function getService(): Promise<Service> {
  const outcome = await built;
  if ('error' in outcome) throw outcome.error;
  return outcome.service;
}
