import { describe, expect, it } from 'vitest';
import { regenerate, renderDocument } from '../../scripts/docs';

/** The first line where two texts part, to say where a stale document differs. */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  committed: ${x[i] ?? '(end of file)'}\n  generated: ${y[i] ?? '(end of file)'}`;
  }
  return 'no difference';
}

const generatedSection = (text: string, name: string): string => {
  const m = new RegExp(`<!-- BEGIN GENERATED: ${name} -->\\n([\\s\\S]*?)\\n<!-- END GENERATED: ${name} -->`).exec(text);
  if (!m) throw new Error(`no generated section ${name}`);
  return m[1]!;
};

describe('documents generated from the code (npm run docs)', () => {
  const documents = regenerate();

  it.each(documents.map((d) => [d.file, d] as const))('%s: the committed generated sections match what the code says now', (_file, doc) => {
    expect(
      doc.committed === doc.generated,
      `${doc.file} is out of date with the code: run \`npm run docs\` and commit the result.\nFirst difference at ${firstDifference(doc.committed, doc.generated)}`,
    ).toBe(true);
  });

  // Facts from the standard and from the README, not from the generator: a generator that wrote nothing, or the
  // wrong table, would still "match" itself above.
  const statement = documents.find((d) => d.file === 'docs/conformance-statement.md')!.committed;

  it('lists the mammography storage SOP classes as accepted, with their PS3.6 UIDs', () => {
    const scp = generatedSection(statement, 'sop-classes-scp');
    for (const uid of ['1.2.840.10008.1.1', '1.2.840.10008.5.1.4.1.1.1.2', '1.2.840.10008.5.1.4.1.1.1.2.1', '1.2.840.10008.5.1.4.1.1.13.1.3', '1.2.840.10008.5.1.4.1.1.88.50']) {
      expect(scp).toContain(`| ${uid} | SCP |`);
    }
  });

  it('accepts the uncompressed and common compressed transfer syntaxes and names the ones it refuses', () => {
    const [accepted, refused] = generatedSection(statement, 'transfer-syntaxes').split('Not accepted');
    for (const uid of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.5']) expect(accepted).toContain(`| ${uid} |`);
    expect(refused).toContain('| 1.2.840.10008.1.2.6.2 |');
    expect(accepted).not.toContain('| 1.2.840.10008.1.2.6.2 |');
  });

  it('states every C-STORE status with its PS3.4 meaning and when it is returned', () => {
    const statuses = generatedSection(statement, 'store-statuses');
    expect(statuses).toMatch(/\| 0x0000 \| Success \| .{20,}/);
    expect(statuses).toMatch(/\| 0xA700 \| Refused: Out of Resources \| .{20,}/);
    expect(statuses).toMatch(/\| 0xC000 \| Error: Cannot understand \| .{20,}/);
  });

  it('gives the limits with their defaults', () => {
    const limits = generatedSection(statement, 'limit-settings');
    expect(limits).toContain('| `limits.maxAssociations` | `8` |');
    expect(limits).toContain('| `limits.spoolCapBytes` | 21474836480 (20 GiB) |');
  });

  it('has a per-attribute annex with the Basic Profile action of known rows', () => {
    const annex = generatedSection(statement, 'deid-annex');
    expect(annex).toMatch(/^\| \(0010,0010\) \| Patient's Name \| Z /m);
    expect(annex).toMatch(/^\| \(0008,0050\) \| Accession Number \| Z /m);
    expect(annex).toMatch(/^\| \(0020,000D\) \| Study Instance UID \| U /m);
    expect(annex.split('\n').length).toBeGreaterThan(400);
  });
});

describe('the generated-section mechanism', () => {
  const text = 'intro\n<!-- BEGIN GENERATED: a -->\nold\n<!-- END GENERATED: a -->\nhand-written\n';

  it('replaces only what is between the markers', () => {
    expect(renderDocument('x.md', text, { a: () => 'new' })).toBe('intro\n<!-- BEGIN GENERATED: a -->\nnew\n<!-- END GENERATED: a -->\nhand-written\n');
  });

  it('refuses a document that lacks a section, or names one the generator does not know', () => {
    expect(() => renderDocument('x.md', text, { a: () => 'new', b: () => 'more' })).toThrow(/no markers for generated section\(s\) b/);
    expect(() => renderDocument('x.md', text, {})).toThrow(/"a" is not known/);
  });
});
