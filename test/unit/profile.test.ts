import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import source from '../../src/main/core/deid/profile/ps3.15-2026d-table-e1-1.json';
import { profileRows, resolveAction, resolveCode, actionForCode, profileRowFor, attributeTypeAt } from '../../src/main/core/deid/profile';
import { parseTag, tagOf, vrOf, keywordOf } from '../../src/main/core/dicom';

/** JSON with every object's keys sorted and no spaces: the form the source's content_sha256 is taken over. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

describe('PS3.15 2026d Table E.1-1 as data', () => {
  it('is the source file unchanged: its rows hash to the content_sha256 the source states', () => {
    expect(source.edition).toBe('2026d');
    const digest = crypto.createHash('sha256').update(canonical(source.rows)).digest('hex');
    expect(digest).toBe('e257bc5e1cfecb3156ad3b871c43e6d73581cba6e80df460f4a4a87694e89442');
    expect(source.content_sha256).toBe(digest);
  });

  it('carries all 657 rows, each with a known action in every column', () => {
    expect(profileRows.length).toBe(657);
    const byBasic: Record<string, number> = {};
    for (const row of profileRows) byBasic[row.basic] = (byBasic[row.basic] ?? 0) + 1;
    // Counted in the source file with Python's collections.Counter, not by the loader under test.
    expect(byBasic).toEqual({ X: 417, D: 93, U: 55, Z: 42, 'X/D': 23, 'X/Z': 11, 'X/Z/D': 8, 'Z/D': 6, 'X/Z/U*': 2 });
    for (const row of profileRows) {
      expect(() => actionForCode(row.basic), `${row.tag} ${row.name}`).not.toThrow();
    }
  });

  it('finds each plain row by its tag, and the dictionary knows every attribute the table names, with a VR', () => {
    const plain = profileRows.filter((r) => /^\([0-9A-F]{4},[0-9A-F]{4}\)$/i.test(r.tag));
    expect(plain.length).toBe(653);
    for (const row of plain) {
      const t = parseTag(row.tag);
      expect(profileRowFor(t)?.name).toBe(row.name);
      // Selector UN Value is the one attribute whose VR really is UN.
      if (row.tag !== '(0072,006D)') expect(vrOf(t), `${row.tag} ${row.name}`).not.toBe('UN');
      expect(keywordOf(t), `${row.tag} ${row.name}`).toBeDefined();
    }
  });

  it('names and types the attributes newer than the dcmjs dictionary as PS3.6 does', () => {
    expect([vrOf(tagOf('NameToUse')), vrOf(tagOf('PersonNamesToUseSequence')), vrOf(tagOf('EthnicGroups'))]).toEqual(['LT', 'SQ', 'UC']);
    expect(vrOf(tagOf('SexParametersForClinicalUseCategoryReference'))).toBe('UR');
    expect(vrOf(tagOf('GenderIdentityComment'))).toBe('UT');
    expect(vrOf(tagOf('AnnotationDateTime'))).toBe('DT');
    expect(vrOf(tagOf('DisplayURI'))).toBe('UR');
    expect(tagOf('PrincipalDiagnosisCodeSequence')).toBe(parseTag('(0008,1301)'));
  });

  it('matches the repeating-group rows for curves and overlays', () => {
    expect(resolveCode(parseTag('(5002,3000)'), new Set())).toBe('X');
    expect(resolveCode(parseTag('(6002,3000)'), new Set())).toBe('X');
    expect(resolveCode(parseTag('(601E,4000)'), new Set())).toBe('X');
    expect(resolveCode(parseTag('(6000,0010)'), new Set())).toBeUndefined(); // the engine removes the whole group
  });

  it('keeps patient characteristics only under Retain Patient Characteristics', () => {
    expect(resolveAction(tagOf('PatientSex'), new Set())).toBe('empty');
    expect(resolveAction(tagOf('PatientSex'), new Set(['rtnPatCharsOpt']))).toBe('keep');
    expect(resolveAction(tagOf('PatientAge'), new Set())).toBe('remove');
    expect(resolveAction(tagOf('PatientAge'), new Set(['rtnPatCharsOpt']))).toBe('keep');
  });

  it('settles a choice by the attribute\'s Type, and keeps the attribute when the Type is not known', () => {
    // X/Z/D: Type 3 at the top of every IOD (General Equipment) → removed; unknown (inside a sequence) → dummy.
    expect(attributeTypeAt(tagOf('InstitutionCodeSequence'), 'top')).toBe('3');
    expect(resolveAction(tagOf('InstitutionCodeSequence'), new Set(), '3')).toBe('remove');
    expect(resolveAction(tagOf('InstitutionCodeSequence'), new Set(), undefined)).toBe('dummy');
    // X in the table, Type 2 in an SR's Referenced Request Sequence → emptied, not removed.
    expect(attributeTypeAt(tagOf('RequestedProcedureID'), tagOf('ReferencedRequestSequence'))).toBe('2');
    expect(resolveAction(tagOf('RequestedProcedureID'), new Set(), '2')).toBe('empty');
    expect(resolveAction(tagOf('RequestedProcedureID'), new Set(), undefined)).toBe('remove');
    expect(resolveAction(tagOf('SourceImageSequence'), new Set())).toBe('uid'); // X/Z/U*
    expect(resolveAction(tagOf('ContentCreatorName'), new Set(), '2')).toBe('empty'); // Z/D
  });
});
