import { randomBytes } from 'node:crypto';

/** The process's part of each request id: 64 random bits, so two function instances never share one. */
const PROCESS_ID = randomBytes(8).toString('base64url');
let sequence = 0;

/**
 * An id no other request of any function instance uses while its outcome is kept; short, since
 * every write stores one. Made per call inside the adapters: the CounterStore port needs no id.
 */
export function newRequestId(): string {
  sequence += 1;
  return `${PROCESS_ID}${sequence.toString(36)}`;
}
