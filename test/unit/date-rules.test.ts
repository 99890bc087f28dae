import { describe, expect, it } from 'vitest';
import { parseDA, parseDT, parseTM, studyDateRuleOnValue, studyDateRuleOnDT, birthDateRuleOnValue, describeStudyDateRule } from '../../src/main/core/deid/date-rules';
import { StudyDateRule } from '../../src/shared/settings';
import { tagOf, textElement, stringValue } from '../../src/main/core/dicom';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const month = StudyDateRule.parse({ keep: 'month', day: 15 });
const year = StudyDateRule.parse({ keep: 'year', month: 7, day: 1 });
const shift = StudyDateRule.parse({ keep: 'shift' });

describe('DA, DT and TM read per PS3.5', () => {
  it('reads dates with full and partial precision, and refuses what is not a calendar date', () => {
    expect(parseDA('20250612')).toEqual({ year: '2025', month: '06', day: '12' });
    expect(parseDA('202506')).toEqual({ year: '2025', month: '06' });
    expect(parseDA('2025')).toEqual({ year: '2025' });
    expect(parseDA('20250230')).toBeUndefined();
    expect(parseDA('2025-06-12')).toBeUndefined();
  });

  it('reads times with fractions and partial precision', () => {
    expect(parseTM('11')).toBe('11');
    expect(parseTM('1145')).toBe('1145');
    expect(parseTM('114500.5')).toBe('114500.5');
    expect(parseTM('114500.123456')).toBe('114500.123456');
    expect(parseTM('114500.1234567')).toBeUndefined();
    expect(parseTM('2460')).toBeUndefined();
  });

  it('reads date-times with their UTC offset, and refuses an offset outside -1200..+1400', () => {
    expect(parseDT('20250612114500-0800')).toEqual({ date: { year: '2025', month: '06', day: '12' }, time: '114500', offset: '-0800' });
    expect(parseDT('20250612114500.25+0530')).toEqual({ date: { year: '2025', month: '06', day: '12' }, time: '114500.25', offset: '+0530' });
    expect(parseDT('2025061211&')).toBeUndefined();
    expect(parseDT('2025+0100')).toEqual({ date: { year: '2025' }, time: '', offset: '+0100' });
    expect(parseDT('20250612114500-1300')).toBeUndefined();
    expect(parseDT('20250612114500+1460')).toBeUndefined();
  });
});

describe('study-date rules on DT values keep the time, its fraction, its precision and the offset', () => {
  it.each([
    // value, month (day 15), year (1 July), shift +200 days, shift -200 days
    ['20250612114500-0800', '20250615114500-0800', '20250701114500-0800', '20251229114500-0800', '20241124114500-0800'],
    ['20250612114500+0530', '20250615114500+0530', '20250701114500+0530', '20251229114500+0530', '20241124114500+0530'],
    ['20250612114500.123456-0800', '20250615114500.123456-0800', '20250701114500.123456-0800', '20251229114500.123456-0800', '20241124114500.123456-0800'],
    ['20250612114500.5', '20250615114500.5', '20250701114500.5', '20251229114500.5', '20241124114500.5'],
    ['202506121145', '202506151145', '202507011145', '202512291145', '202411241145'],
    ['2025061211-1000', '2025061511-1000', '2025070111-1000', '2025122911-1000', '2024112411-1000'],
    ['20250612', '20250615', '20250701', '20251229', '20241124'],
    ['202506-0800', '20250615-0800', '20250701-0800', '202601-0800', '202411-0800'],
  ])('%s', (value, byMonth, byYear, later, earlier) => {
    expect(studyDateRuleOnDT(value, month)).toBe(byMonth);
    expect(studyDateRuleOnDT(value, year)).toBe(byYear);
    expect(studyDateRuleOnDT(value, shift, 200)).toBe(later);
    expect(studyDateRuleOnDT(value, shift, -200)).toBe(earlier);
  });

  it('never reads the "-" of an offset as a range (the reported defect: 20250612114500-0800 under "month")', () => {
    expect(studyDateRuleOnValue('DT', '20250612114500-0800', month)).toBe('20250615114500-0800');
    expect(studyDateRuleOnValue('DT', '20250612114500-0800', shift, 183)).toBe('20251212114500-0800');
    expect(studyDateRuleOnValue('DT', '20250612114500-0800', shift, 365)).toBe('20260612114500-0800');
  });

  it('applies the rule to each end of a real range, and to each of several values', () => {
    expect(studyDateRuleOnValue('DA', '20250101-20250612', month)).toBe('20250115-20250615');
    expect(studyDateRuleOnValue('DA', '-20250612', month)).toBe('-20250615');
    expect(studyDateRuleOnValue('DA', '20250612-', shift, 10)).toBe('20250622-');
    expect(studyDateRuleOnValue('DT', '20250101000000-0800-20250612114500-0800', month)).toBe('20250115000000-0800-20250615114500-0800');
    expect(studyDateRuleOnValue('DA', '20250612\\20240229', shift, 1)).toBe('20250613\\20240301');
  });

  it('empties what is not a date rather than keeping it', () => {
    expect(studyDateRuleOnValue('DA', '12/06/2025', month)).toBe('');
    expect(studyDateRuleOnValue('DT', '20250612114500-08', month)).toBe('');
    expect(studyDateRuleOnValue('DT', '20251312114500', month)).toBe('');
  });

  it('keeps every value under "keep all"', () => {
    expect(studyDateRuleOnValue('DT', '20250612114500-0800', StudyDateRule.parse({ keep: 'all' }))).toBe('20250612114500-0800');
  });

  it('applies the birth-date rule to a DA value only', () => {
    expect(birthDateRuleOnValue('19650723', { keep: 'month', day: 15, month: 7 })).toBe('19650715');
    expect(birthDateRuleOnValue('1965-07-23', { keep: 'month', day: 15, month: 7 })).toBe('');
  });

  it('describes each rule in a few characters', () => {
    expect([month, year, shift, StudyDateRule.parse({})].map(describeStudyDateRule)).toEqual(['YYYYMM15', 'YYYY0701', 'shift within ±365 days', 'kept']);
  });
});

describe('date rules in the engine', () => {
  it('modifies DT values with offsets at any depth and keeps the Timezone Offset From UTC', () => {
    const ds = baseDataset([
      textElement(tagOf('AcquisitionDateTime'), 'DT', '20250612114500.123-0800'),
      textElement(tagOf('TimezoneOffsetFromUTC'), 'SH', '-0800'),
      {
        tag: tagOf('ContentSequence'),
        vr: 'SQ',
        items: [new Map([[tagOf('DateTime'), textElement(tagOf('DateTime'), 'DT', '20250612114500-0800')]])],
      },
    ]);
    const ctx = contextFor({ studyDates: { keep: 'month', day: 15, month: 7, maxShiftDays: 365 } });
    const { dataset } = deidentifyRoundTrip(ds, ctx);
    expect(stringValue(dataset, tagOf('AcquisitionDateTime'))).toBe('20250615114500.123-0800');
    expect(stringValue(dataset, tagOf('TimezoneOffsetFromUTC'))).toBe('-0800');
    expect(stringValue(dataset.get(tagOf('ContentSequence'))!.items![0]!, tagOf('DateTime'))).toBe('20250615114500-0800');
  });
});
