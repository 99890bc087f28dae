// Date rules are shared: the core applies them, the Settings screen previews them.
import type { BirthDateRule, StudyDateRule } from './settings';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Applies the birth-date rule to a DICOM DA value (YYYYMMDD, or the partial YYYY / YYYYMM that
 * some devices write). Returns '' when nothing usable remains, so the attribute is emptied, never kept.
 */
export function applyBirthDateRule(value: string, rule: BirthDateRule): string {
  const m = /^(\d{4})(\d{2})?(\d{2})?$/.exec(value.trim());
  if (!m) return '';
  const year = m[1]!;
  if (rule.keep === 'year' || m[2] === undefined) return `${year}${pad(rule.month)}${pad(rule.day)}`;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return `${year}${pad(rule.month)}${pad(rule.day)}`;
  return `${year}${m[2]}${pad(rule.day)}`;
}

/** "19650723" → "1965-07-23", for people. */
export function formatDicomDate(value: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
}

/**
 * Patient's Age (AS) on `onDate` for someone born on `birthDate`, both DICOM DA values:
 * "052Y"; for infants "011M", "003W" or "006D" as PS3.5 allows. Undefined when either date is unusable.
 */
export function ageOn(birthDate: string, onDate: string): string | undefined {
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(birthDate.trim());
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(onDate.trim());
  if (!b || !d) return undefined;
  const [by, bm, bd] = [Number(b[1]), Number(b[2]), Number(b[3])];
  const [dy, dm, dd] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const born = Date.UTC(by, bm - 1, bd);
  const on = Date.UTC(dy, dm - 1, dd);
  if (Number.isNaN(born) || Number.isNaN(on) || on < born) return undefined;
  let years = dy - by;
  if (dm < bm || (dm === bm && dd < bd)) years -= 1;
  if (years >= 1) return `${pad(Math.min(years, 999), 3)}Y`;
  let months = (dy - by) * 12 + (dm - bm);
  if (dd < bd) months -= 1;
  if (months >= 1) return `${pad(months, 3)}M`;
  const days = Math.round((on - born) / 86_400_000);
  return days >= 7 ? `${pad(Math.floor(days / 7), 3)}W` : `${pad(days, 3)}D`;
}

/** Adds whole days to a calendar date; Date.UTC arithmetic keeps leap days and month ends exact. */
function shiftYmd(year: number, month: number, day: number, days: number): string {
  const d = new Date(Date.UTC(year, month - 1, day) + days * 86_400_000);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
}

const isRealDate = (y: number, m: number, d: number): boolean => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

/**
 * Applies the study-date rule to one DA value (YYYYMMDD, or partial YYYY / YYYYMM).
 * "all" keeps it; "month"/"year" truncate as the birth-date rule does; "shift" moves it by `shiftDays`
 * (a partial date is shifted from the middle of its period and written with the same precision).
 * Returns '' when the value is not a date, so it is emptied rather than kept.
 */
export function applyStudyDateRule(value: string, rule: StudyDateRule, shiftDays = 0): string {
  const m = /^(\d{4})(\d{2})?(\d{2})?$/.exec(value.trim());
  if (!m) return '';
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  if (month !== undefined && (month < 1 || month > 12)) return '';
  if (month !== undefined && day !== undefined && !isRealDate(year, month, day)) return '';
  switch (rule.keep) {
    case 'all':
      return value.trim();
    case 'year':
      return `${m[1]}${pad(rule.month)}${pad(rule.day)}`;
    case 'month':
      return `${m[1]}${month === undefined ? pad(rule.month) : m[2]}${pad(rule.day)}`;
    case 'shift': {
      const shifted = shiftYmd(year, month ?? 7, day ?? (month === undefined ? 2 : 15), shiftDays);
      return shifted.slice(0, month === undefined ? 4 : day === undefined ? 6 : 8);
    }
  }
}
