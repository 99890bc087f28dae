import { describe, expect, it } from 'vitest';
import { applyBirthDateRule, ageOn } from '../../src/shared/dates';

const month15 = { keep: 'month', day: 15, month: 7 } as const;

describe('birth date rule', () => {
  it('truncates birth date to the 15th by default', () => {
    expect(applyBirthDateRule('19650723', month15)).toBe('19650715');
  });
  it('uses the configured day of the month', () => {
    expect(applyBirthDateRule('19650723', { ...month15, day: 1 })).toBe('19650701');
    expect(applyBirthDateRule('19650723', { ...month15, day: 28 })).toBe('19650728');
  });
  it('keeps only the year with keep "year", writing the configured month and day', () => {
    expect(applyBirthDateRule('19650723', { keep: 'year', day: 15, month: 7 })).toBe('19650715');
    expect(applyBirthDateRule('19651203', { keep: 'year', day: 1, month: 1 })).toBe('19650101');
  });
  it('handles a leap day', () => {
    expect(applyBirthDateRule('19640229', month15)).toBe('19640215');
    expect(applyBirthDateRule('19640229', { keep: 'year', day: 28, month: 2 })).toBe('19640228');
  });
  it('handles partial dates (YYYY, YYYYMM) that some devices write', () => {
    expect(applyBirthDateRule('1965', month15)).toBe('19650715');
    expect(applyBirthDateRule('196507', month15)).toBe('19650715');
  });
  it('empties a value that is not a date rather than keeping it', () => {
    expect(applyBirthDateRule('23/07/1965', month15)).toBe('');
    expect(applyBirthDateRule('', month15)).toBe('');
  });
});

describe('age on a date', () => {
  it('counts whole years, the day before the birthday included', () => {
    expect(ageOn('19650723', '20240722')).toBe('058Y');
    expect(ageOn('19650723', '20240723')).toBe('059Y');
  });
  it('gives months, weeks or days for infants', () => {
    expect(ageOn('20240101', '20240615')).toBe('005M');
    expect(ageOn('20240101', '20240122')).toBe('003W');
    expect(ageOn('20240101', '20240104')).toBe('003D');
  });
  it('is undefined when a date is missing or the study precedes the birth', () => {
    expect(ageOn('', '20240101')).toBeUndefined();
    expect(ageOn('20240101', '20230101')).toBeUndefined();
  });
});
