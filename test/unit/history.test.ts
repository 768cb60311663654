import { describe, expect, it } from 'vitest';
import { type CheckOptions, checkHistory, type Epoch, type Operation, skippedNumbers } from '../chaos/history';

const WINDOW_MS = 2_000;
const OPTIONS: CheckOptions = {
  windowMs: WINDOW_MS,
  toleranceMs: 100,
  maxAnswerMs: 5_000,
  dataLosses: [],
  exactFailures: true,
  unknownOutcomes: [],
};
/** A store whose 503 may have counted (DynamoDB). */
const INEXACT: CheckOptions = { ...OPTIONS, exactFailures: false };

const hello = (start: number, status = 200): Operation => ({
  path: '/hello',
  start,
  end: start + 5,
  status,
  body: status === 200 ? 'Hello ELECLE 1' : 'Service Unavailable',
});
const again = (start: number, body: string | 503): Operation => ({
  path: '/hello/again',
  start,
  end: start + 5,
  status: body === 503 ? 503 : 200,
  body: body === 503 ? 'Service Unavailable' : body,
});
const n = (value: number) => `Hello ELECLE ${value}`;

/** An epoch that opens at t=0 and counts 2..k+1, one request every 10 ms. */
const counting = (k: number): Epoch => ({
  hellos: [hello(0)],
  againOps: Array.from({ length: k }, (_, index) => again(10 * (index + 1), n(index + 2))),
});

describe('Function: checkHistory', () => {
  it('finds nothing in a history that keeps the contract', () => {
    const epoch = counting(5);
    epoch.againOps.push(again(WINDOW_MS + 200, 'Expired!'));
    expect(checkHistory([epoch], OPTIONS)).toEqual([]);
  });

  it('allows a 503 that changed nothing', () => {
    const epoch: Epoch = { hellos: [hello(0, 503), hello(100)], againOps: [again(200, 503), again(300, n(2))] };
    expect(checkHistory([epoch], OPTIONS)).toEqual([]);
  });

  it('reports a 503 whose increment was applied (a number skipped), where a 503 promises nothing changed', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(200, 503), again(300, n(3))] };
    expect(checkHistory([epoch], OPTIONS)).toEqual([
      'epoch 1: 1 numbers skipped: increments answered 503 had been applied',
    ]);
  });

  it('allows a skipped number when the store lost its data during the window', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(200, 503), again(300, n(3))] };
    expect(checkHistory([epoch], { ...OPTIONS, dataLosses: [{ start: 150, end: 250 }] })).toEqual([]);
  });

  it('allows as many skipped numbers as outcomes the service said it could not find out, in that window', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(200, 503), again(210, 503), again(300, n(4))] };
    expect(checkHistory([epoch], { ...OPTIONS, unknownOutcomes: [205] })).toEqual([
      'epoch 1: 1 numbers skipped: increments answered 503 had been applied (1 said to be unknown explain the rest)',
    ]);
    expect(checkHistory([epoch], { ...OPTIONS, unknownOutcomes: [205, 215] })).toEqual([]);
    expect(checkHistory([epoch], { ...OPTIONS, unknownOutcomes: [205, 5_000] })).toHaveLength(1);
  });

  it('reports an increment said to be unknown that took a number after its 503 was answered', () => {
    // Answered unknown at 205; 3 went to a request that started after that, and 4 was skipped:
    // the increment landed after its 503, which the deadline forbids.
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(200, 503), again(210, n(2)), again(300, n(3))] };
    epoch.againOps.push(again(400, n(5)));
    expect(checkHistory([epoch], { ...OPTIONS, unknownOutcomes: [205] })).toEqual([
      'epoch 1: 1 numbers skipped: increments answered 503 had been applied (1 said to be unknown explain the rest)',
    ]);
    expect(checkHistory([epoch], { ...OPTIONS, unknownOutcomes: [350] })).toEqual([]);
  });

  it('allows a 503 and the number it may have skipped where a 503 may have counted (DynamoDB), and counts it', () => {
    const epoch: Epoch = { hellos: [hello(0, 503), hello(100)], againOps: [again(200, 503), again(300, n(3))] };
    expect(checkHistory([epoch], INEXACT)).toEqual([]);
    expect(skippedNumbers(epoch)).toBe(1);
  });

  it('reports a number returned twice in one window', () => {
    const epoch = counting(3);
    epoch.againOps.push(again(100, n(3)));
    expect(checkHistory([epoch], OPTIONS)).toContain('epoch 1: 3 returned twice in one window');
  });

  it('reports a number higher than the increments that had started', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(10, n(2)), again(20, n(4))] };
    expect(checkHistory([epoch], OPTIONS)).toEqual([
      'epoch 1: 4 returned when only 2 increments had started',
      'epoch 1: 1 numbers skipped but only 0 requests failed',
    ]);
  });

  it('reports a number returned to a request that started after the window closed', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(WINDOW_MS + 200, n(2))] };
    expect(checkHistory([epoch], OPTIONS)).toContain(
      'epoch 1: 2 returned to a request that started after the window closed',
    );
  });

  it('reports a window that reopened after "Expired!"', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(10, 'Expired!'), again(100, n(2))] };
    expect(checkHistory([epoch], OPTIONS)).toContain('epoch 1: 2 returned after "Expired!": the window reopened');
  });

  it('reports "Expired!" before the window could close, unless the store lost its data meanwhile', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(500, 'Expired!')] };
    expect(checkHistory([epoch], OPTIONS)).toEqual(['epoch 1: "Expired!" 1395 ms before the window could have closed']);
    expect(checkHistory([epoch], { ...OPTIONS, dataLosses: [{ start: 200, end: 400 }] })).toEqual([]);
  });

  it('reports more skipped numbers than failed requests', () => {
    const epoch: Epoch = { hellos: [hello(0)], againOps: [again(10, 503), again(20, n(2)), again(30, n(5))] };
    expect(checkHistory([epoch], INEXACT)).toContain('epoch 1: 2 numbers skipped but only 1 requests failed');
  });

  it('reports a reset that lands after its /hello was answered 503 (numbers shown again)', () => {
    const epoch = counting(3);
    // The late reset: counting starts over at 2.
    epoch.againOps.push(again(100, n(2)), again(110, n(3)));
    expect(checkHistory([epoch], OPTIONS)).toEqual(
      expect.arrayContaining(['epoch 1: 2 returned twice in one window', 'epoch 1: 3 returned twice in one window']),
    );
  });

  it('reports other statuses, wrong bodies, missing answers and answers that took too long', () => {
    const epoch: Epoch = {
      hellos: [hello(0)],
      againOps: [
        { path: '/hello/again', start: 10, end: 20, status: 500, body: 'Internal Server Error' },
        { path: '/hello/again', start: 10, end: 20, status: 200, body: '{"errorMessage":"boom"}' },
        { path: '/hello/again', start: 10, end: 20, status: 0, body: 'TypeError: fetch failed' },
        { path: '/hello/again', start: 10, end: 6_000, status: 503, body: 'Service Unavailable' },
      ],
    };
    expect(checkHistory([epoch], OPTIONS)).toEqual([
      'epoch 1: /hello/again answered status 500',
      'epoch 1: /hello/again answered "{\\"errorMessage\\":\\"boom\\"}"',
      'epoch 1: /hello/again answered status 0',
      'epoch 1: /hello/again took 5990 ms',
    ]);
  });
});
