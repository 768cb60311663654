// The actions the workflows run: each pinned to a full commit SHA (a tag can be moved to other code,
// a SHA cannot), the tag in a comment for people, and each on the node24 runtime (GitHub is removing
// node20 from its runners). Which runtime a commit declares cannot be read offline, so it comes from
// pinned-actions.json, where each entry says where it was read.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { found } from '../support/found';
import pinned from './pinned-actions.json';

const WORKFLOWS = fileURLToPath(new URL('../../.github/workflows/', import.meta.url));

/** Every `uses:` line of every workflow, with its file. */
const usesLines = () =>
  readdirSync(WORKFLOWS)
    .filter((file) => /\.ya?ml$/.test(file))
    .flatMap((file) =>
      readFileSync(`${WORKFLOWS}${file}`, 'utf8')
        .split('\n')
        .filter((line) => /^\s*(-\s+)?uses:/.test(line))
        .map((line) => ({ file, line: line.trim() })),
    );
const PINNED = /^(?:-\s+)?uses:\s+([\w.-]+\/[\w.-]+)@([0-9a-f]{40})\s+#\s+(v\d+(?:\.\d+){0,2})$/;

describe('Workflow actions', () => {
  it('pins every `uses:` to a full commit SHA, with its tag in a comment', () => {
    const loose = found(usesLines(), 'uses: line').filter(({ line }) => !PINNED.test(line));
    expect(loose).toEqual([]);
  });

  it('uses only commits in pinned-actions.json, under the tag listed there', () => {
    const unlisted = usesLines().flatMap(({ file, line }) => {
      const [, action, commit, tag] = line.match(PINNED) ?? [];
      const entry = pinned.actions.find((listed) => listed.action === action && listed.commit === commit);
      return entry && entry.tag === tag ? [] : [`${file}: ${line}`];
    });
    expect(unlisted).toEqual([]);
  });

  it('runs only actions whose action.yml, at the pinned commit, declares node24', () => {
    const listed = found(pinned.actions, 'pinned action');
    expect(listed.filter((entry) => entry.using !== 'node24').map((entry) => entry.action)).toEqual([]);
    for (const entry of listed) {
      expect(entry.commit, entry.action).toMatch(/^[0-9a-f]{40}$/);
      expect(entry.source, entry.action).toContain(entry.commit.slice(0, 8));
    }
  });

  it("installs the project's Node version, from .node-version, not a number of its own", () => {
    const workflow = readFileSync(`${WORKFLOWS}ci.yml`, 'utf8');
    expect(workflow).not.toMatch(/node-version:/);
    const setups = found([...workflow.matchAll(/uses: actions\/setup-node@/g)], 'setup-node').length;
    expect(found([...workflow.matchAll(/node-version-file: (\S+)/g)], 'node-version-file').map((m) => m[1])).toEqual(
      Array(setups).fill('.node-version'),
    );
  });
});
