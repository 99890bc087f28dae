import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The documents whose links are checked: the README, the policy files beside it, and everything in docs/. */
function documents(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', 'SECURITY.md', 'CHANGELOG.md', ...docs].filter((f) => fs.existsSync(path.join(ROOT, f))).sort();
}

/** Markdown without code: fenced blocks and inline code spans hold examples, not links. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of markdown.replace(/^```[\s\S]*?^```/gm, '').split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (m) {
      const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
      const base = text.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]!);
  }
  return anchors;
}

/** Every link target written in a document: inline links and images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** The links of `text` (the document `file`) that do not resolve, with why. */
function brokenLinks(file: string, text: string): { broken: string[]; checked: number } {
  const broken: string[] = [];
  let checked = 0;
  for (const target of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — outside the repository
    checked += 1;
    const [rawPath, anchor] = target.split('#') as [string, string | undefined];
    const resolved = rawPath ? path.resolve(path.dirname(file), decodeURIComponent(rawPath)) : file;
    if (resolved !== file && !fs.existsSync(resolved)) {
      broken.push(`${target}: no such file ${path.relative(ROOT, resolved)}`);
      continue;
    }
    const targetText = resolved === file ? text : resolved.endsWith('.md') ? fs.readFileSync(resolved, 'utf8') : undefined;
    if (anchor && targetText !== undefined && !headingAnchors(targetText).has(decodeURIComponent(anchor))) {
      broken.push(`${target}: no heading with anchor #${anchor} in ${path.relative(ROOT, resolved)}`);
    }
  }
  return { broken, checked };
}

describe('links in the README and docs/ resolve', () => {
  it('finds the documents to check, the new ones among them', () => {
    expect(documents()).toEqual(expect.arrayContaining(['README.md', 'SECURITY.md', 'CHANGELOG.md', 'docs/conformance-statement.md', 'docs/privacy.md']));
  });

  it('computes anchors as GitHub does', () => {
    const anchors = headingAnchors('# 3.2.4 Statuses the gateway returns (C-STORE as SCP)\n## `limits` and [links](x.md)\n## Same\n## Same\n');
    expect([...anchors]).toEqual(['324-statuses-the-gateway-returns-c-store-as-scp', 'limits-and-links', 'same', 'same-1']);
  });

  it('reports a missing file and a missing anchor, and ignores links inside code', () => {
    const file = path.join(ROOT, 'docs/example.md');
    const text = '# Here\n[a](privacy.md) [b](nope.md) [c](privacy.md#no-such-heading) [d](#here) [e](#gone) `[f](missing.md)`\n```\n[g](missing.md)\n```\n[h]: ../LICENSE\n';
    expect(brokenLinks(file, text)).toEqual({
      broken: ['nope.md: no such file docs/nope.md', 'privacy.md#no-such-heading: no heading with anchor #no-such-heading in docs/privacy.md', '#gone: no heading with anchor #gone in docs/example.md'],
      checked: 6,
    });
  });

  it('the README links to every document a hospital asks for', () => {
    const targets = linkTargets(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
    expect(targets).toEqual(expect.arrayContaining(['docs/conformance-statement.md', 'docs/privacy.md', 'SECURITY.md', 'LICENSE', 'CHANGELOG.md']));
  });

  it.each(documents())('%s: every relative link names an existing file, and every #anchor a heading there', (doc) => {
    const file = path.join(ROOT, doc);
    expect(brokenLinks(file, fs.readFileSync(file, 'utf8')).broken, `${doc} has broken links`).toEqual([]);
  });
});
