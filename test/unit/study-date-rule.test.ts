import { describe, expect, it } from 'vitest';
import { applyStudyDateRule } from '../../src/shared/dates';
import { studyDateRuleOnDT as applyStudyDateTimeRule } from '../../src/main/core/deid/date-rules';
import { tag, tagOf, textElement, stringValue, type DicomElement } from '../../src/main/core/dicom';
import { StudyDateRule } from '../../src/shared/settings';
import { profileRowFor } from '../../src/main/core/deid';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

const rule = (r: Partial<StudyDateRule>): StudyDateRule => StudyDateRule.parse(r);
const daysBetween = (a: string, b: string): number =>
  (Date.UTC(+b.slice(0, 4), +b.slice(4, 6) - 1, +b.slice(6, 8)) - Date.UTC(+a.slice(0, 4), +a.slice(4, 6) - 1, +a.slice(6, 8))) / 86_400_000;

describe('study date rule', () => {
  it('keeps dates as they are by default', () => {
    expect(StudyDateRule.parse({}).keep).toBe('all');
    expect(applyStudyDateRule('20190317', rule({}))).toBe('20190317');
  });

  it('truncates to the month with every configurable day (1–28)', () => {
    for (let day = 1; day <= 28; day++) {
      expect(applyStudyDateRule('20190317', rule({ keep: 'month', day }))).toBe(`201903${String(day).padStart(2, '0')}`);
    }
  });

  it('truncates to the year with every configurable month and day', () => {
    for (let month = 1; month <= 12; month++) {
      for (const day of [1, 15, 28]) {
        expect(applyStudyDateRule('20191231', rule({ keep: 'year', month, day }))).toBe(`2019${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}`);
      }
    }
  });

  it('handles a leap day under every rule', () => {
    expect(applyStudyDateRule('20200229', rule({ keep: 'month', day: 28 }))).toBe('20200228');
    expect(applyStudyDateRule('20200229', rule({ keep: 'year', month: 2, day: 28 }))).toBe('20200228');
    expect(applyStudyDateRule('20200229', rule({ keep: 'shift' }), 1)).toBe('20200301');
    expect(applyStudyDateRule('20200228', rule({ keep: 'shift' }), 1)).toBe('20200229');
    expect(applyStudyDateRule('20200229', rule({ keep: 'shift' }), 365)).toBe('20210228');
    expect(applyStudyDateRule('20210301', rule({ keep: 'shift' }), -1)).toBe('20210228');
  });

  it('refuses a 29 February that does not exist (emptied, not kept)', () => {
    expect(applyStudyDateRule('20190229', rule({ keep: 'month' }))).toBe('');
    expect(applyStudyDateRule('20191301', rule({ keep: 'shift' }), 3)).toBe('');
    expect(applyStudyDateRule('17/03/2019', rule({ keep: 'year' }))).toBe('');
  });

  it('handles partial dates (YYYY, YYYYMM) under each rule, keeping their precision when shifting', () => {
    expect(applyStudyDateRule('2019', rule({ keep: 'month', day: 15, month: 7 }))).toBe('20190715');
    expect(applyStudyDateRule('201903', rule({ keep: 'month', day: 15 }))).toBe('20190315');
    expect(applyStudyDateRule('201903', rule({ keep: 'year', day: 1, month: 1 }))).toBe('20190101');
    expect(applyStudyDateRule('201903', rule({ keep: 'shift' }), 20)).toBe('201904');
    expect(applyStudyDateRule('2019', rule({ keep: 'shift' }), -200)).toBe('2018');
    expect(applyStudyDateRule('2019', rule({ keep: 'all' }))).toBe('2019');
  });

  it('shifts across month and year ends', () => {
    expect(applyStudyDateRule('20191231', rule({ keep: 'shift' }), 1)).toBe('20200101');
    expect(applyStudyDateRule('20190101', rule({ keep: 'shift' }), -1)).toBe('20181231');
  });

  it('applies the rule to the date part of a DT value, keeping time and offset', () => {
    expect(applyStudyDateTimeRule('20190317101112.123456+0100', rule({ keep: 'shift' }), 10)).toBe('20190327101112.123456+0100');
    expect(applyStudyDateTimeRule('20190317101112', rule({ keep: 'month', day: 1 }))).toBe('20190301101112');
    expect(applyStudyDateTimeRule('2019', rule({ keep: 'year', month: 1, day: 1 }))).toBe('20190101');
    expect(applyStudyDateTimeRule('garbage', rule({ keep: 'year' }))).toBe('');
  });
});

describe('study date rule in the engine', () => {
  const instance = (studyUid: string, studyDate: string, extra: DicomElement[] = []) =>
    baseDataset([
      textElement(tagOf('StudyInstanceUID'), 'UI', studyUid),
      textElement(tagOf('StudyDate'), 'DA', studyDate),
      textElement(tagOf('SeriesDate'), 'DA', studyDate),
      textElement(tagOf('AcquisitionDateTime'), 'DT', `${studyDate}093000`),
      textElement(tagOf('ContentDate'), 'DA', studyDate),
      textElement(tagOf('StudyTime'), 'TM', '093000'),
      textElement(tagOf('PatientBirthDate'), 'DA', '19650723'),
      ...extra,
    ]);

  it('keeps the exact interval between two studies of one patient when shifting, and hides the real dates', () => {
    const settings = { studyDates: { keep: 'shift' as const, day: 15, month: 7, maxShiftDays: 365 } };
    const shift = -137; // what the crosswalk stores for this patient
    const a = deidentifyRoundTrip(instance('1.2.826.0.1.3680043.10.5.1', '20190317'), contextFor(settings, { dateShiftDays: shift })).dataset;
    const b = deidentifyRoundTrip(instance('1.2.826.0.1.3680043.10.5.2', '20200229'), contextFor(settings, { dateShiftDays: shift })).dataset;
    const dateA = stringValue(a, tagOf('StudyDate'))!;
    const dateB = stringValue(b, tagOf('StudyDate'))!;
    expect(dateA).not.toBe('20190317');
    expect(daysBetween(dateA, dateB)).toBe(daysBetween('20190317', '20200229'));
    expect(daysBetween('20190317', dateA)).toBe(shift);
    for (const ds of [a, b]) {
      expect(stringValue(ds, tagOf('SeriesDate'))).toBe(stringValue(ds, tagOf('StudyDate')));
      expect(stringValue(ds, tagOf('AcquisitionDateTime'))).toBe(`${stringValue(ds, tagOf('StudyDate'))}093000`);
      expect(stringValue(ds, tagOf('StudyTime'))).toBe('093000');
      expect(stringValue(ds, tagOf('LongitudinalTemporalInformationModified'))).toBe('MODIFIED');
      expect(stringValue(ds, tagOf('DeidentificationMethod'))).toContain('study dates shifted by a per-patient offset');
    }
  });

  it('computes Patient\'s Age from the real dates before they are shifted', () => {
    const ctx = contextFor({ studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } }, { dateShiftDays: 300 });
    const ds = deidentifyRoundTrip(instance('1.2.826.0.1.3680043.10.5.3', '20190317'), ctx).dataset;
    expect(stringValue(ds, tagOf('PatientAge'))).toBe('053Y');
  });

  it('records the rule and the matching CID 7050 code', () => {
    const codes = (settings: Parameters<typeof contextFor>[0]) => {
      const ds = deidentifyRoundTrip(instance('1.2.826.0.1.3680043.10.5.4', '20190317'), contextFor(settings)).dataset;
      return (ds.get(tagOf('DeidentificationMethodCodeSequence'))?.items ?? []).map((item) => stringValue(item, tagOf('CodeValue')));
    };
    expect(codes({})).toEqual(['113100', '113105', '113106', '113108']);
    expect(codes({ studyDates: { keep: 'month', day: 15, month: 7, maxShiftDays: 365 } })).toEqual(['113100', '113105', '113107', '113108']);
    expect(codes({ retainPatientCharacteristics: false, cleanDescriptors: false, retainUids: true, retainDeviceIdentity: true, retainInstitutionIdentity: true, retainSafePrivate: { enabled: true, allowList: [] } }))
      .toEqual(['113100', '113106', '113109', '113110', '113111', '113112']);
  });

  it('applies the rule to a date the tables do not list (a newer edition\'s attribute)', () => {
    // Every DA/DT of today's dictionary has a 2026d row; a public tag no edition has assigned yet stands in for
    // a later edition's date, written in explicit VR.
    const future = tag(0x0018, 0x9ff0);
    expect(profileRowFor(future)).toBeUndefined();
    const unlisted = textElement(future, 'DA', '20190317');
    const ds = deidentifyRoundTrip(instance('1.2.826.0.1.3680043.10.5.5', '20190317', [unlisted]), contextFor({ studyDates: { keep: 'year', day: 1, month: 1, maxShiftDays: 365 } })).dataset;
    expect(stringValue(ds, future)).toBe('20190101');
  });
});
