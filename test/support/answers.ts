import type { Offline } from './offline';

export interface TimedAnswer {
  status: number;
  body: string;
  /** A 503's Write-Applied header: `no` (nothing counted) or `unknown` (a retry may count twice). */
  writeApplied: string | null;
  /** How long the answer took, in milliseconds. */
  ms: number;
}

/** GETs `path` and returns the answer with how long it took. */
export async function timedGet(offline: Offline, path: string): Promise<TimedAnswer> {
  const startedAt = performance.now();
  const { status, body, headers } = await offline.get(path);
  return { status, body, writeApplied: headers.get('write-applied'), ms: performance.now() - startedAt };
}

/** Asks `path` one request at a time until `ms` have passed; returns every answer. */
export async function askFor(offline: Offline, path: string, ms: number): Promise<TimedAnswer[]> {
  const answers: TimedAnswer[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) answers.push(await timedGet(offline, path));
  return answers;
}

/** Asks `path` until it answers 200 or `ms` have passed; returns every answer. */
export async function askUntilAnswered(offline: Offline, path: string, ms = 2_000): Promise<TimedAnswer[]> {
  const answers = [await timedGet(offline, path)];
  const end = performance.now() + ms;
  while (answers.at(-1)?.status !== 200 && performance.now() < end) answers.push(await timedGet(offline, path));
  return answers;
}

/** The numbers of the "Hello ELECLE n" answers, in order. */
export function countedNumbers(answers: TimedAnswer[]): number[] {
  return answers.flatMap((answer) => {
    const match = /^Hello ELECLE (\d+)$/.exec(answer.body);
    return answer.status === 200 && match ? [Number(match[1])] : [];
  });
}
