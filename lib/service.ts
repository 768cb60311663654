import { type Config, describeStore, readConfig } from './config';
import { type CounterStore, createCounterStore } from './counter';
import { instrumented } from './counter/instrumented';
import { logger } from './telemetry';

export interface Service {
  config: Config;
  store: CounterStore;
}

/**
 * Built once per function instance, at import: a bad configuration fails at cold start (and is
 * logged once, naming the variable), and the store connects before the first request arrives.
 */
const built = build();

async function build(): Promise<{ service: Service } | { error: unknown }> {
  try {
    const config = readConfig(process.env);
    logger.appendPersistentKeys({ store: config.store.kind });
    const store = instrumented(await createCounterStore(config.store));
    logger.info('service configured', { storeDetail: describeStore(config), windowMs: config.windowMs });
    return { service: { config, store } };
  } catch (error) {
    logger.error('cannot start: invalid configuration', { error });
    return { error };
  }
}

/** The instance's service, or the error that kept it from starting (every request answers it). */
export async function getService(): Promise<Service> {
  const outcome = await built;
  if ('error' in outcome) throw outcome.error;
  return outcome.service;
}
