import { type Config, describeStore, readConfig } from './config';
import { type CounterStore, createCounterStore } from './counter';
import { logger } from './logger';

export interface Service {
  config: Config;
  store: CounterStore;
}

/**
 * Built once per function instance, at import: a bad configuration fails at cold start (and is
 * logged once, naming the variable), and the store connects before the first request arrives.
 */
const built = build();

function build(): { service: Service } | { error: unknown } {
  try {
    const config = readConfig(process.env);
    const store = createCounterStore(config.store);
    logger.info('service configured', { store: describeStore(config), windowMs: config.windowMs });
    return { service: { config, store } };
  } catch (error) {
    logger.error('cannot start: invalid configuration', { error });
    return { error };
  }
}

/** The instance's service, or the error that kept it from starting (every request answers it). */
export function getService(): Service {
  if ('error' in built) throw built.error;
  return built.service;
}
