// The date rules as the engine applies them to DICOM values, and how they are described. The calendar arithmetic
// on one plain date lives in src/shared/dates.ts, because the Settings screen previews it.
import type { BirthDateRule, StudyDateRule } from '../../../shared/settings';
import { applyBirthDateRule, applyStudyDateRule } from '../../../shared/dates';

/** A DA value (PS3.5 6.2): YYYYMMDD, or the partial YYYY / YYYYMM that some devices write. */
export interface DicomDate {
  year: string;
  month?: string;
  day?: string;
}

/** A DT value (PS3.5 6.2): YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX], each part kept as written. */
export interface DicomDateTime {
  date: DicomDate;
  /** HH[MM[SS[.F{1,6}]]], '' when the value stops at the date. */
  time: string;
  /** "+ZZXX" / "-ZZXX", '' when absent. */
  offset: string;
}

const DATE = /^(\d{4})(?:(\d{2})(\d{2})?)?$/;
const TIME = /^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$/;
const DATE_TIME = /^(\d{4})(?:(\d{2})(?:(\d{2})(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/;

function realDate(d: DicomDate): boolean {
  if (d.month === undefined) return true;
  const m = Number(d.month);
  if (m < 1 || m > 12) return false;
  if (d.day === undefined) return true;
  const y = Number(d.year);
  const day = Number(d.day);
  const t = new Date(Date.UTC(y, m - 1, day));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === day;
}

export function parseDA(text: string): DicomDate | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  const d: DicomDate = { year: m[1]!, ...(m[2] !== undefined && { month: m[2] }), ...(m[3] !== undefined && { day: m[3] }) };
  return realDate(d) ? d : undefined;
}

/** TM: HH[MM[SS[.F{1,6}]]], with the ranges PS3.5 allows (a leap second 60 included). */
export function parseTM(text: string): string | undefined {
  const t = text.trim();
  const m = TIME.exec(t);
  if (!m) return undefined;
  if (Number(m[1]) > 23 || (m[2] !== undefined && Number(m[2]) > 59) || (m[3] !== undefined && Number(m[3]) > 60)) return undefined;
  return t;
}

export function parseDT(text: string): DicomDateTime | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const date: DicomDate = { year: m[1]!, ...(m[2] !== undefined && { month: m[2] }), ...(m[3] !== undefined && { day: m[3] }) };
  if (!realDate(date)) return undefined;
  const time = m[4] ?? '';
  if (time && parseTM(time) === undefined) return undefined;
  const offset = m[5] ?? '';
  // PS3.5: the offset runs from -1200 to +1400.
  if (offset) {
    const minutes = Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5));
    if (Number(offset.slice(3, 5)) > 59 || minutes > (offset[0] === '+' ? 14 * 60 : 12 * 60)) return undefined;
  }
  return { date, time, offset };
}

const dateText = (d: DicomDate): string => `${d.year}${d.month ?? ''}${d.day ?? ''}`;

/** The study-date rule on one DA value; '' when it is not a date, so it is emptied rather than kept. */
export function studyDateRuleOnDA(text: string, rule: StudyDateRule, shiftDays = 0): string {
  const d = parseDA(text);
  return d ? applyStudyDateRule(dateText(d), rule, shiftDays) : '';
}

/**
 * The study-date rule on one DT value: the date part follows the rule; the time of day, its fraction and the
 * UTC offset are kept as written (a whole-day shift keeps every interval exact, and an offset is not a date).
 */
export function studyDateRuleOnDT(text: string, rule: StudyDateRule, shiftDays = 0): string {
  const dt = parseDT(text);
  if (!dt) return '';
  const date = applyStudyDateRule(dateText(dt.date), rule, shiftDays);
  if (!date) return '';
  // A time needs a whole date before it; truncation rules always give one, and shifting keeps the precision.
  if (dt.time && date.length !== 8) return '';
  return `${date}${dt.time}${dt.offset}`;
}

/**
 * Splits a range ("A-B", "-B", "A-") only where the value cannot be read as one value of its VR: for DT the
 * "-" of a UTC offset is part of the value, not a range separator.
 */
function rangeEnds(text: string, parse: (s: string) => unknown): [string, string] | undefined {
  for (let i = text.indexOf('-'); i >= 0; i = text.indexOf('-', i + 1)) {
    const left = text.slice(0, i);
    const right = text.slice(i + 1);
    if ((left === '' || parse(left)) && (right === '' || parse(right)) && (left || right)) return [left, right];
  }
  return undefined;
}

/** The study-date rule on a whole DA or DT element value: each of several values, and each end of a real range. */
export function studyDateRuleOnValue(vr: 'DA' | 'DT', text: string, rule: StudyDateRule, shiftDays = 0): string {
  if (rule.keep === 'all') return text;
  const one = vr === 'DT' ? studyDateRuleOnDT : studyDateRuleOnDA;
  const parse = vr === 'DT' ? parseDT : parseDA;
  const values = text.split('\\').map((raw) => {
    const v = raw.trim();
    if (!v) return '';
    if (parse(v)) return one(v, rule, shiftDays);
    const ends = rangeEnds(v, parse);
    if (!ends) return '';
    const [a, b] = ends.map((end) => (end ? one(end, rule, shiftDays) : ''));
    return a || b ? `${a}-${b}` : '';
  });
  return values.every((v) => v === '') ? '' : values.join('\\');
}

/** The birth-date rule on a DA value; '' when it is not a date. */
export function birthDateRuleOnValue(text: string, rule: BirthDateRule): string {
  const d = parseDA(text);
  return d ? applyBirthDateRule(dateText(d), rule) : '';
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The birth-date rule in a few characters ("YYYYMM15"), for the policy and DeidentificationMethod. */
export function describeBirthDateRule(rule: BirthDateRule): string {
  return rule.keep === 'month' ? `YYYYMM${pad2(rule.day)}` : `YYYY${pad2(rule.month)}${pad2(rule.day)}`;
}

/** The study-date rule in a few words; a setting that the chosen rule ignores is left out. */
export function describeStudyDateRule(rule: StudyDateRule): string {
  switch (rule.keep) {
    case 'all':
      return 'kept';
    case 'month':
      return `YYYYMM${pad2(rule.day)}`;
    case 'year':
      return `YYYY${pad2(rule.month)}${pad2(rule.day)}`;
    case 'shift':
      return `shift within ±${rule.maxShiftDays} days`;
  }
}

/** The DeidentificationMethod values (LO, at most 64 characters each) that say what the date rules did. */
export function dateRuleMethods(birth: BirthDateRule, dates: StudyDateRule): string[] {
  const study =
    dates.keep === 'all' ? 'study dates kept' : dates.keep === 'shift' ? 'study dates shifted by a per-patient offset' : `study dates ${describeStudyDateRule(dates)}`;
  return [`birth date ${describeBirthDateRule(birth)}`, study];
}
