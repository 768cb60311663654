import { createServer } from 'node:net';

/*
 * Letting the OS choose (listening on port 0, then closing) hands out a random port of the whole
 * ephemeral range, and nothing stops it from handing the same one to a test file running beside this
 * one while the process meant to bind it is still starting (serverless-offline takes seconds). That
 * happened: a bench row then measured another file's serverless-offline, and failed when it stopped.
 * So each vitest worker (VITEST_POOL_ID, 1 to maxWorkers; 0 outside vitest) takes ports in turn from
 * a range of its own, below the ephemeral range that outgoing connections use.
 */
const FIRST_PORT = 20_000;
const RANGE = 1_000;
const RANGES = 12; // 20000 to 31999, below 32768 where Linux's ephemeral range starts
// TEST_PORT_POOL_OFFSET moves a whole run to other ranges, so two checkouts can run their tests at once.
const pool = (Number(process.env.VITEST_POOL_ID ?? 0) + Number(process.env.TEST_PORT_POOL_OFFSET ?? 0)) % RANGES;
/** Where this process starts in its range: a child (a bench, a chaos run) shares its test's range. */
let next = Math.floor(Math.random() * RANGE);

/** A TCP port on 127.0.0.1 that nothing listens on right now, never handed out twice by this process. */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < RANGE; tried += 1) {
    const port = FIRST_PORT + pool * RANGE + (next % RANGE);
    next += 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${FIRST_PORT + pool * RANGE}-${FIRST_PORT + (pool + 1) * RANGE - 1}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
