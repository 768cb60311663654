import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** Whether the process still runs (neither exited nor killed by a signal). */
export function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** Ends the process at once, a frozen one too (SIGCONT, then SIGKILL), and waits until it has exited. */
export async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!isRunning(child)) return;
  const exited = once(child, 'exit');
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
}
