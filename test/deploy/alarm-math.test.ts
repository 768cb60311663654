// The alarm evaluation the template tests rely on (alarm-math.ts), on expressions and alarms whose
// outcome CloudWatch's documentation makes plain.
import { describe, expect, it } from 'vitest';
import { type AlarmProperties, fires, parse } from './alarm-math';

const single = (threshold: number, periods: number, datapoints?: number): AlarmProperties => ({
  Threshold: threshold,
  ComparisonOperator: 'GreaterThanThreshold',
  EvaluationPeriods: periods,
  DatapointsToAlarm: datapoints,
  TreatMissingData: 'notBreaching',
});

describe('alarm-math', () => {
  it('evaluates arithmetic, comparisons, IF, MAX and MIN per period', () => {
    expect(parse('IF(requests > 0, 100 * errors / requests, 0)')({ errors: 3, requests: 200 })).toBe(1.5);
    expect(parse('IF(requests > 0, 100 * errors / requests, 0)')({ errors: 0, requests: 0 })).toBe(0);
    expect(parse('MAX([a, b])')({ a: 2, b: 7 })).toBe(7);
    expect(parse('MIN([a, b])')({ a: 2, b: undefined })).toBe(2);
    expect(parse('a >= 3 AND b < 1')({ a: 3, b: 0 })).toBe(1);
    expect(parse('(1 + 2) * -3')({})).toBe(-9);
    expect(parse('a + 1')({})).toBeUndefined(); // a metric with no data in the period
    expect(() => parse('RATE(a)')).toThrow(/RATE/);
  });

  it('fires when M of the last N periods breach, missing data not breaching', () => {
    const sum = (values: (number | undefined)[]) => values.map((metric) => ({ metric }));
    // 4c3d983's StoreFailuresAlarm: any failure in one minute.
    expect(fires(single(0, 1), sum([undefined, 1, undefined]))).toBe(true);
    expect(fires(single(0, 3, 2), sum([1, undefined, undefined, 1]))).toBe(false);
    expect(fires(single(0, 3, 2), sum([1, undefined, 1]))).toBe(true);
    expect(fires(single(5, 2), sum([6, 5, 6]))).toBe(false);
  });
});
