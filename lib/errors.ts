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

/** The counter store did not answer in time or refused the connection: the outcome is unknown. */
export class StoreUnavailableError extends ServiceError {}
