import { describe, expect, it } from 'vitest';
import { EXPIRED, greeting } from '../../lib/greeting';

describe('Function: greeting', () => {
  it('returns the message with the count', () => {
    expect(greeting(1)).toBe('Hello ELECLE 1');
    expect(greeting(201)).toBe('Hello ELECLE 201');
  });

  it('has the expired answer', () => {
    expect(EXPIRED).toBe('Expired!');
  });
});
