/**
 * The README and docs/ link to each other by file and heading: every relative link must land on an
 * existing file and, when it names one, an existing heading (GitHub's anchor for it).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** The repository root: the nearest folder above this file with a package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const root = repoRoot();
const docsDir = join(root, 'docs');
const pages = [
  join(root, 'README.md'),
  ...readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(docsDir, f)),
];

/** Markdown without fenced code blocks and inline code, where `#` and `[x](y)` are not markup. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, (code) => code.replace(/[[\]()#]/g, ' '));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .trim()
    .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page offers, with GitHub's `-1`, `-2` suffixes for repeated headings. */
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

interface Link {
  from: string;
  target: string;
}

function relativeLinks(file: string): Link[] {
  const links: Link[] = [];
  for (const m of prose(readFileSync(file, 'utf8')).matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ from: relative(root, file), target });
  }
  return links;
}

/** What is wrong with a link, or undefined when it lands. */
function problemWith(link: Link): string | undefined {
  const [path, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const file = path ? resolve(dirname(join(root, link.from)), path) : join(root, link.from);
  if (!existsSync(file)) return `${link.from}: ${link.target} (no such file)`;
  if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(file).has(decodeURIComponent(anchor)))
    return `${link.from}: ${link.target} (no heading #${anchor} in ${relative(root, file)})`;
  return undefined;
}

describe('slug', () => {
  it('makes the anchors GitHub makes', () => {
    expect(slug('The 4 KB Lambda environment')).toBe('the-4-kb-lambda-environment');
    expect(slug('`day` is the date of `callAt`, not of `startedAt`')).toBe('day-is-the-date-of-callat-not-of-startedat');
    expect(slug("Trying the alarms' paths locally")).toBe('trying-the-alarms-paths-locally');
    expect(slug('The index time, callAt')).toBe('the-index-time-callat');
    expect(slug('Replay from raw/')).toBe('replay-from-raw');
  });
});

describe('documentation links', () => {
  const links = pages.flatMap(relativeLinks);

  it('finds the README and the docs pages, and their links', () => {
    expect(pages.length).toBeGreaterThan(10);
    expect(links.length).toBeGreaterThan(50);
  });

  it('lands every relative link on an existing file and heading', () => {
    expect(links.map(problemWith).filter((p) => p !== undefined)).toEqual([]);
  });

  it('reports a link to a missing heading or file', () => {
    expect(problemWith({ from: 'README.md', target: 'docs/configuration.md#no-such-heading' })).toMatch(/no heading/);
    expect(problemWith({ from: 'README.md', target: 'docs/no-such-page.md' })).toMatch(/no such file/);
    expect(problemWith({ from: 'README.md', target: '#run-it-locally' })).toBeUndefined();
  });

  it('links every docs page from the README', () => {
    const fromReadme = new Set(relativeLinks(join(root, 'README.md')).map((l) => l.target.split('#')[0]));
    const unlinked = pages.filter((p) => p.startsWith(docsDir)).filter((p) => !fromReadme.has(relative(root, p)));
    expect(unlinked.map((p) => relative(root, p))).toEqual([]);
  });

  it('keeps the README under 300 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThan(300);
  });
});
