import { StoreUnavailableError } from '../../lib/errors';
import { logger } from '../../lib/telemetry';
import { captureOutput } from './lambda-events';

/** A store deadline for tests about something other than the deadline: a busy machine never reaches it. */
export const ROOMY_TIMEOUT_MS = 5_000;

/** How a store call settled: its value, or its StoreUnavailableError's message and cause; and after how long. */
export interface StoreOutcome<T> {
  value?: T;
  error?: string;
  cause?: { name: string; message: string };
  ms: number;
}

/** Waits for a store call; any error other than StoreUnavailableError is thrown on, as a test failure. */
export async function storeOutcome<T>(call: Promise<T>): Promise<StoreOutcome<T>> {
  const startedAt = performance.now();
  try {
    const value = await call;
    return { value, ms: performance.now() - startedAt };
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
    return { error: error.message, ...(cause ? { cause } : {}), ms: performance.now() - startedAt };
  }
}

/**
 * Runs `work` with the logger at WARN and the output captured: what it settled to, and the JSON lines logged meanwhile.
 * (Here, not beside captureOutput: importing the logger there would create it before the handler
 * tests have set their environment.)
 */
export async function warningsWhile<T>(
  work: () => Promise<T>,
): Promise<{ result: T; lines: Record<string, unknown>[] }> {
  const output = captureOutput();
  logger.setLogLevel('WARN');
  try {
    const result = await work();
    return { result, lines: output.lines() };
  } finally {
    logger.setLogLevel('SILENT');
    output.stop();
  }
}
