/** Base class of the errors this service raises on purpose; `cause` is always forwarded. */
export class ServiceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or malformed; the message names the variable. */
export class ConfigError extends ServiceError {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

/**
 * The counter store did not answer in time, or refused: the request changed nothing (when that
 * cannot be known, it is an OutcomeUnknownError).
 */
export class StoreUnavailableError extends ServiceError {}

/**
 * The store may have applied the write, and this service could not find out: the one 503 that does
 * not mean "nothing changed". Logged under this name so an operator can count them.
 */
export class OutcomeUnknownError extends StoreUnavailableError {}

/**
 * A command was sent and its answer did not come back (a timeout, a reset, a closed socket, a 5xx):
 * the store may have applied it. A write that meets it is settled by a lookup of its record
 * (lib/counter/lost-write.ts); a read passes it on as the 503 it is.
 */
export class ReplyLostError extends StoreUnavailableError {}
