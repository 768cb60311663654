import { describe, expect, it } from 'vitest';
import { greeting } from '../../lib/hello';

describe('Function: greeting', () => {
  it('returns the message with the count', () => {
    expect(greeting(1)).toBe('Hello ELECLE 1');
    expect(greeting(201)).toBe('Hello ELECLE 201');
  });
});
