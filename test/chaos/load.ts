import { setTimeout as sleep } from 'node:timers/promises';
import type { Epoch, Operation } from './history';

export interface LoadOptions {
  baseUrl: string;
  windowMs: number;
  /** Epoch ms at which the load stops opening windows. */
  until: number;
  /** /hello/again requests in flight at once. */
  concurrency: number;
  random: () => number;
}

const CLIENT_TIMEOUT_MS = 10_000;

/** One request, recorded whatever happens to it. */
async function call(baseUrl: string, path: Operation['path']): Promise<Operation> {
  const start = Date.now();
  try {
    const response = await fetch(baseUrl + path, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    const body = await response.text();
    return { path, start, end: Date.now(), status: response.status, body };
  } catch (error) {
    return { path, start, end: Date.now(), status: 0, body: String(error) };
  }
}

/**
 * Runs epochs until `until`: /hello until it answers 200, then `concurrency` loops of /hello/again
 * for a random 0.3 to 1.6 windows (so some epochs outlive their window and see "Expired!"), then
 * one last /hello/again on its own (asked again after a 503, up to 3 times), whose number shows
 * every increment applied before it, and only then the next /hello. Returns every operation.
 */
export async function runLoad({ baseUrl, windowMs, until, concurrency, random }: LoadOptions): Promise<Epoch[]> {
  const epochs: Epoch[] = [];
  while (Date.now() < until) {
    const epoch: Epoch = { hellos: [], againOps: [] };
    epochs.push(epoch);
    do {
      if (epoch.hellos.length > 0) await sleep(100);
      epoch.hellos.push(await call(baseUrl, '/hello'));
    } while (epoch.hellos.at(-1)?.status !== 200 && Date.now() < until);
    if (epoch.hellos.at(-1)?.status !== 200) break;
    const stopAt = Date.now() + windowMs * (0.3 + 1.3 * random());
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < stopAt) epoch.againOps.push(await call(baseUrl, '/hello/again'));
      }),
    );
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const last = await call(baseUrl, '/hello/again');
      epoch.againOps.push(last);
      if (last.status === 200) break;
      await sleep(100);
    }
  }
  return epochs;
}
