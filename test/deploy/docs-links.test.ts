// README.md is the landing page and docs/ holds the depth: every relative link in them (files,
// images, #anchors) must lead somewhere, and every docs file must be one click from the README.
// What they state that the repository can check is checked here too: the scripts, commands and files
// they name, the Node.js range, the Configuration table against docker-compose.yml, no paragraph twice.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { yamlParse } from 'yaml-cfn';

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

/** The prose of a markdown file (no code blocks), as paragraphs with their whitespace folded. */
const paragraphs = (markdown: string) =>
  markdown
    .replace(/^```[\s\S]*?^```/gm, '')
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s+/g, ' ').trim());

/** Every `inline code` span of README.md and docs/, with the file it is in. */
const codeSpans = () =>
  FILES.flatMap((file) =>
    [...readFileSync(join(ROOT, file), 'utf8').matchAll(/`([^`\n]+)`/g)].map((m) => ({ file, code: m[1] as string })),
  );

describe('README.md: a five-minute read', () => {
  it('is about 1,000 words at most', () => {
    const words = readFileSync(join(ROOT, 'README.md'), 'utf8').split(/\s+/).filter(Boolean).length;
    expect(words).toBeLessThanOrEqual(1_100);
  });
});

describe('README.md and docs/: nothing said twice', () => {
  it('no paragraph appears twice, in one file or across them', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const file of FILES) {
      for (const paragraph of paragraphs(readFileSync(join(ROOT, file), 'utf8'))) {
        // Headings, table rows and short lines ("Then:") may repeat; a paragraph that says something may not.
        if (paragraph.length < 120 || paragraph.startsWith('|') || paragraph.startsWith('#')) continue;
        const first = seen.get(paragraph);
        if (first) twice.push(`${file} repeats ${first}: "${paragraph.slice(0, 80)}..."`);
        else seen.set(paragraph, file);
      }
    }
    expect(twice).toEqual([]);
  });
});

describe('README.md and docs/: what they name exists', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  // Paths the docs name on purpose although they are not in the repository.
  const NOT_FILES = new Set([
    'functions/version.ts', // docs/extending.md: the route a reader adds
    'file.svg', // an argument to fill in
    'action.yml', // a pinned action's file, in the action's repository
  ]);
  const SKIP = new Set(['node_modules', '.git', '.esbuild', '.serverless', 'reports']);
  const filesUnder = (folder: string): string[] =>
    readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
      if (SKIP.has(entry.name)) return [];
      return entry.isDirectory() ? filesUnder(join(folder, entry.name)) : [entry.name];
    });
  const everyFile = filesUnder('.');
  /** A path in the repository: as written, from the doc's folder, or a bare file name found anywhere; a test named without `.test.ts`. */
  const exists = (file: string, path: string) =>
    ['', '.test.ts', '.ts'].some(
      (suffix) =>
        existsSync(join(ROOT, path + suffix)) ||
        existsSync(join(ROOT, dirname(file), path + suffix)) ||
        (!path.includes('/') && everyFile.includes(path + suffix)),
    );

  it('every npm script they run is in package.json', () => {
    const runs = codeSpans().flatMap(({ file, code }) =>
      [...code.matchAll(/\bnpm run ([\w:-]+)/g)].map((m) => ({ file, script: m[1] as string })),
    );
    expect(runs.length).toBeGreaterThan(5);
    expect(runs.filter(({ script }) => !(script in pkg.scripts))).toEqual([]);
  });

  it('every npx command they run is a binary npm ci installs', () => {
    const commands = codeSpans().flatMap(({ file, code }) =>
      [...code.matchAll(/\bnpx ([\w@.-]+)/g)].map((m) => ({ file, bin: m[1] as string })),
    );
    expect(commands.length).toBeGreaterThan(5);
    expect(commands.filter(({ bin }) => !existsSync(join(ROOT, 'node_modules/.bin', bin)))).toEqual([]);
  });

  it('every file and script they name is there', () => {
    const named = codeSpans().flatMap(({ file, code }) =>
      code
        .split(/\s+/)
        .map((word) => word.replace(/[,;:)]+$/, ''))
        .filter(
          (word) =>
            /^(\.\.\/)?(functions|lib|tools|test|deploy|bench|docs|patches|\.github)\/[\w./-]*[\w]$/.test(word) ||
            /^[\w.-]+\.(ya?ml|json|mjs|mts|ts|cts|cjs|md|sh|svg)$/.test(word),
        )
        .map((path) => ({ file, path })),
    );
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter(({ file, path }) => !NOT_FILES.has(path) && !exists(file, path))).toEqual([]);
  });
});

describe('README.md: the Node.js it asks for', () => {
  const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean };
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } }>;
  };
  /** Each engines range in the lock file, but the project's own (npm ci brings that Node) and the Node package's. */
  const ranges = [
    ...new Set(
      Object.entries(lock.packages)
        .filter(([path]) => path !== '' && path !== 'node_modules/node')
        .flatMap(([, entry]) => (entry.engines?.node ? [entry.engines.node] : [])),
    ),
  ];
  const versions = Array.from({ length: 14 }, (_, i) => i + 16).flatMap((major) =>
    Array.from({ length: 41 }, (_, minor) => [0, 1].map((patch) => `${major}.${minor}.${patch}`)).flat(),
  );
  const stated = (file: string) => {
    const range = readFileSync(join(ROOT, file), 'utf8').match(/`(\^20\.[^`]+)`/)?.[1];
    if (!range) throw new Error(`${file} states no Node.js range`);
    return range.replace(/\\\|/g, '|');
  };

  it('states the range of Node.js every package in the lock file accepts: no wider, no narrower', () => {
    expect(ranges.length).toBeGreaterThan(5);
    const range = stated('README.md');
    const wrong = versions.filter(
      (version) => semver.satisfies(version, range) !== ranges.every((r) => semver.satisfies(version, r)),
    );
    expect(wrong).toEqual([]);
  });

  it('docs/running-locally.md and docs/troubleshooting.md state the same range', () => {
    expect(stated('docs/running-locally.md')).toBe(stated('README.md'));
    expect(stated('docs/troubleshooting.md')).toBe(stated('README.md'));
  });
});

describe('README.md "Configuration": each variable and Docker', () => {
  const compose = yamlParse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: { app: { environment: Record<string, string> } };
  };
  const passed = Object.keys(compose.services.app.environment);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Configuration\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Configuration\n') + 1),
  );
  const rows = section
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+` \|/.test(line))
    .map((line) => {
      const cells = line.split(' | ');
      return { name: (cells[0] ?? '').replace(/[|` ]/g, ''), docker: (cells.at(-1) ?? '').replace(/ \|$/, '') };
    });
  const local = `${readFileSync(join(ROOT, 'serverless.yml'), 'utf8')}${readFileSync(join(ROOT, 'deploy/stores/local.yml'), 'utf8')}`;

  it('lists the variables', () => {
    expect(rows.length).toBeGreaterThan(5);
  });

  it('each variable docker-compose.yml does not pass is marked "not under Docker", and no other', () => {
    const wrong = rows.filter(({ name, docker }) => passed.includes(name) === (docker === 'not under Docker'));
    expect(wrong).toEqual([]);
  });

  it('docker-compose.yml passes no variable the table leaves out', () => {
    expect(passed.filter((name) => !rows.some((row) => row.name === name))).toEqual([]);
  });

  it('each variable reaches the functions of the local stage (npm start, docker compose up)', () => {
    expect(rows.filter(({ name }) => !local.includes(`\${env:${name},`))).toEqual([]);
  });
});
