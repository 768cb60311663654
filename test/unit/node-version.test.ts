import { describe, expect, it } from 'vitest';
import nodeVersion from '../../tools/node-version.cjs';

describe('Function: unsupportedNode', () => {
  it('returns one line naming both versions and the way out for a Node older than 24', () => {
    const problem = nodeVersion.unsupportedNode('20.20.2');

    expect(problem).toContain('needs Node.js 24');
    expect(problem).toContain('this is Node.js 20.20.2');
    expect(problem).toContain('npm start, npm test');
    expect(problem).not.toContain('\n');
  });

  it('returns nothing for Node 24 and later', () => {
    expect(nodeVersion.unsupportedNode('24.0.0')).toBeUndefined();
    expect(nodeVersion.unsupportedNode('26.1.0')).toBeUndefined();
  });
});
