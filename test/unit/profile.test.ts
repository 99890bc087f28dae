import { describe, expect, it } from 'vitest';
import { profileRows, resolveAction, actionForCode, profileRowFor, OPTION_PRECEDENCE } from '../../src/main/core/deid/profile';
import { parseTag, tagOf } from '../../src/main/core/dicom';

describe('PS3.15 Table E.1-1 as data', () => {
  it('carries every row of the transcription, each with a known action in every column', () => {
    expect(profileRows.length).toBe(460 + 17);
    for (const row of profileRows) {
      expect(() => actionForCode(row.basic), `${row.tag} ${row.name}`).not.toThrow();
      for (const option of OPTION_PRECEDENCE) {
        const code = row.options[option];
        if (code) expect(() => actionForCode(code), `${row.tag} ${option}`).not.toThrow();
      }
    }
  });
  it('finds each plain row by its tag', () => {
    for (const row of profileRows.filter((r) => /^\([0-9A-F]{4},[0-9A-F]{4}\)$/i.test(r.tag))) {
      expect(profileRowFor(parseTag(row.tag))?.name).toBe(row.name);
    }
  });
  it('matches the repeating-group rows for curves and overlays', () => {
    expect(resolveAction(parseTag('(5002,3000)'), new Set())).toBe('remove');
    expect(resolveAction(parseTag('(6002,3000)'), new Set())).toBe('remove');
    expect(resolveAction(parseTag('(601E,4000)'), new Set())).toBe('remove');
    expect(resolveAction(parseTag('(6000,0010)'), new Set())).toBeUndefined(); // overlay rows: not listed, kept
  });
  it('keeps patient characteristics only under Retain Patient Characteristics', () => {
    expect(resolveAction(tagOf('PatientSex'), new Set())).toBe('empty');
    expect(resolveAction(tagOf('PatientSex'), new Set(['rtnPatCharsOpt']))).toBe('keep');
    expect(resolveAction(tagOf('PatientAge'), new Set())).toBe('remove');
    expect(resolveAction(tagOf('PatientAge'), new Set(['rtnPatCharsOpt']))).toBe('keep');
  });
  it('keeps study dates under Retain Longitudinal Full Dates and blanks them without', () => {
    expect(resolveAction(tagOf('StudyDate'), new Set(['rtnLongFullDatesOpt']))).toBe('keep');
    expect(resolveAction(tagOf('StudyDate'), new Set())).toBe('empty');
  });
  it('chooses the value that keeps the file valid where the table gives a choice', () => {
    expect(resolveAction(tagOf('InstitutionName'), new Set())).toBe('dummy'); // X/Z/D
    expect(resolveAction(tagOf('AcquisitionDate'), new Set())).toBe('empty'); // X/Z
    expect(resolveAction(tagOf('SourceImageSequence'), new Set())).toBe('uid'); // X/Z/U*
    expect(resolveAction(tagOf('SOPInstanceUID'), new Set())).toBe('uid');
  });
});
