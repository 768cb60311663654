// The domain: one counter, its greeting, and the answer once its window has closed (no I/O).

/** The one counter this service keeps. */
export const HELLO_KEY = 'hello:count';

export const EXPIRED = 'Expired!';

export const greeting = (count: number): string => `Hello ELECLE ${count}`;
