/**
 * Settles as `work` does, or rejects with `onTimeout()` once `ms` have passed without it settling.
 *
 * A timer alone would count the event loop's own queueing as the store being slow: in a burst, a
 * busy process runs an expired timer before it reads a reply that is already waiting in the socket,
 * and answers 503 for work that was done. So the timeout is decided only after the loop has read
 * whatever I/O had arrived (`setImmediate` runs after the poll phase). With `progress`, a wait that
 * moved on (a connection that got one step further) gets another `ms`. `firstMs`, when shorter,
 * is the first wait: what is left of work that began before this wait did.
 */
export function withinDeadline<T>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  progress: () => number = () => 0,
  firstMs = ms,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout;
    const arm = (seen: number, waitMs = ms) => {
      timer = setTimeout(() => setImmediate(() => decide(seen)), waitMs);
    };
    const decide = (seen: number) => {
      if (settled) return;
      const now = progress();
      if (now !== seen) return arm(now);
      settled = true;
      reject(onTimeout());
    };
    arm(progress(), firstMs);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
