import type { Redis } from 'ioredis';
import { newRequestId } from './request-id';

/**
 * Every write records the number it got, in the same script, in a ring kept per connection: slot
 * `seq % RING_SLOTS` of the string `{<counter key>}:link:<connection id>` holds (seq, number),
 * 16 bytes. A request whose reply is lost (a reset, a half-open connection, a timeout) waits until
 * its deadline has passed on Redis's clock (after it, the script refuses the write), then reads its
 * slot on a new connection: its own seq there is the number it got; an older seq, or an empty slot,
 * means the write was not applied, and now never will be; anything else, that it cannot tell. A ring
 * costs no allocation per write and a fixed 16 KB per connection; a key per request (SET ... PXAT)
 * took Redis about 1.7 times the CPU of the ring, 2.6 times that of no record at all.
 *
 * The ring key's hash tag is the whole counter key, so both are in one hash slot (a key with no
 * braces is hashed whole): a script may touch both on a cluster (ElastiCache Serverless).
 */

/** More than the writes one connection can have in flight when it fails, or a slot is overwritten. */
export const RING_SLOTS = 1024;
/** A ring outlives its connection's last write by this much, and is refreshed well within it. */
export const RING_KEPT_MS = 60_000;
const RING_REFRESH_MS = 20_000;

/**
 * Appended to a write script: records ARGV[2] (seq) and `count` in KEYS[2]. ARGV[3] = '1' renews the
 * ring's expiry; otherwise it is set only if the ring has none (SETRANGE made it anew: the first
 * write, or after a flush), so no ring is ever left without one.
 */
export const RECORD_OUTCOME = `
redis.call('SETRANGE', KEYS[2], (tonumber(ARGV[2]) % ${RING_SLOTS}) * 16, struct.pack('>dd', tonumber(ARGV[2]), count))
if ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[2], ${RING_KEPT_MS})
else
  redis.call('PEXPIRE', KEYS[2], ${RING_KEPT_MS}, 'NX')
end
`;

/** Where a write records its outcome, and what it sends to do so. */
export interface OutcomeSlot {
  ringKey: string;
  seq: number;
  /** '1' when this write renews the ring's expiry. */
  refresh: '1' | '0';
}

interface Ring {
  id: string;
  seq: number;
  refreshedAt: number;
  /** The ring's key per counter key. */
  keys: Map<string, string>;
}

/** One ring per connection (an ioredis client is one connection here: it is never reconnected). */
const rings = new WeakMap<Redis, Ring>();

/** The slot for the next write on this connection. */
export function nextSlot(client: Redis, counterKey: string): OutcomeSlot {
  let ring = rings.get(client);
  if (!ring) {
    ring = { id: newRequestId(), seq: 0, refreshedAt: 0, keys: new Map() };
    rings.set(client, ring);
  }
  let ringKey = ring.keys.get(counterKey);
  if (ringKey === undefined) {
    ringKey = `{${counterKey}}:link:${ring.id}`;
    ring.keys.set(counterKey, ringKey);
  }
  ring.seq += 1;
  const now = Date.now();
  const refresh = now - ring.refreshedAt > RING_REFRESH_MS;
  if (refresh) ring.refreshedAt = now;
  return { ringKey, seq: ring.seq, refresh: refresh ? '1' : '0' };
}
