// README.md is the landing page and docs/ holds the depth: every relative link in them (files,
// images, #anchors) must lead somewhere, and every docs file must be one click from the README.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = readdirSync(join(ROOT, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => `docs/${name}`);
const FILES = ['README.md', ...DOCS];

/** The markdown without fenced code blocks and inline code, where brackets and `#` mean no link. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The targets of `[text](target)` and `![alt](target)` that are not absolute URLs. */
const relativeLinks = (markdown: string) =>
  [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z]+:/i.test(target));

/** The anchors GitHub gives the headings of a markdown file (lower case, punctuation dropped, `-n` on repeats). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (heading as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

describe('README.md and docs/: links', () => {
  it('has docs to check', () => {
    expect(DOCS.length).toBeGreaterThan(0);
  });

  it.each(FILES)('every relative link and anchor in %s resolves', (file) => {
    const links = relativeLinks(readFileSync(join(ROOT, file), 'utf8'));
    const broken = links.filter((link) => {
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURI(path));
      if (!relative(ROOT, target) || relative(ROOT, target).startsWith('..') || !existsSync(target)) return true;
      return anchor !== undefined && !anchors(readFileSync(target, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it('the README links every docs file', () => {
    const linked = new Set(relativeLinks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((l) => l.split('#')[0]));
    expect(DOCS.filter((doc) => !linked.has(doc))).toEqual([]);
  });
});

describe('docs/how-it-works.md: the file map', () => {
  const FOLDERS = ['functions', 'lib', 'tools'];
  const files = FOLDERS.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(ROOT, join(entry.parentPath, entry.name))),
  );
  /** The paths the map names under those folders, each at the start of a line, with its concern after it. */
  const mapped = [...readFileSync(join(ROOT, 'docs/how-it-works.md'), 'utf8').matchAll(/^(\S+)[ \t]+\S.*$/gm)]
    .map((m) => m[1] as string)
    .filter((path) => FOLDERS.some((folder) => path.startsWith(`${folder}/`)));

  it('names every file of functions/, lib/ and tools/ with its concern', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((file) => !mapped.includes(file))).toEqual([]);
  });

  it('names no file that is not there', () => {
    expect(mapped.filter((path) => !files.includes(path))).toEqual([]);
  });
});
