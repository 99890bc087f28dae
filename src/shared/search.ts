/**
 * Search as people type it: names folded so case and accents do not matter in any script, and study dates
 * accepted in the forms the screens show and clinics write. Pure, so the core stores and queries with the
 * same folding the tests check.
 */

// Optional marks people leave out when typing a name: Latin, Greek and Cyrillic accents (and the extended
// combining blocks), Hebrew points, Arabic short vowels. Marks that make a different letter (Japanese
// dakuten, Indic vowel signs) are kept.
const OPTIONAL_MARK_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x0300, 0x036f], [0x1ab0, 0x1aff], [0x1dc0, 0x1dff], [0x20d0, 0x20ff], [0xfe20, 0xfe2f], [0x0591, 0x05c7], [0x064b, 0x065f], [0x0670, 0x0670],
];
const withoutOptionalMarks = (text: string): string =>
  text.replace(/\p{M}/gu, (mark) => {
    const c = mark.codePointAt(0)!;
    return OPTIONAL_MARK_RANGES.some(([from, to]) => c >= from && c <= to) ? '' : mark;
  });

// Letters that are not a base letter plus a mark, so decomposition leaves them alone (after lower-casing).
const LETTERS: Record<string, string> = {
  ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i', ħ: 'h', ŧ: 't', ŋ: 'n', ſ: 's', ĸ: 'k', ς: 'σ',
};
const LETTER_PATTERN = new RegExp(`[${Object.keys(LETTERS).join('')}]`, 'g');

/**
 * The search form of a text: compatibility-decomposed, optional marks removed, recomposed, lower-cased, the
 * letters above spelled out, and DICOM's name separators (`^` between components, `=` between the alphabetic,
 * ideographic and phonetic groups) and commas turned into single spaces. `MÜLLER^JÖRDIS` → `muller jordis`.
 */
export function foldForSearch(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, withoutOptionalMarks)
    .normalize('NFC')
    .toLowerCase()
    .replace(LETTER_PATTERN, (c) => LETTERS[c] ?? c)
    .replace(/[\s^=,]+/g, ' ')
    .trim();
}

const pad2 = (n: string): string => n.padStart(2, '0');

function validDay(year: string, month: string, day: string): boolean {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * A study date as typed, in DICOM form (YYYYMMDD), or undefined when the text is not a whole, real date.
 * Accepts `2024-02-01` (as the tables show it), `2024/02/01`, `01.02.2024` (day first, as written in
 * German-speaking and many other clinics) and `20240201`. `01/02/2024` is refused: day or month first is a guess.
 */
export function parseStudyDate(text: string): string | undefined {
  const t = text.trim();
  let m = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/.exec(t);
  if (m) return validDay(m[1]!, m[2]!, m[3]!) ? `${m[1]}${pad2(m[2]!)}${pad2(m[3]!)}` : undefined;
  m = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(t);
  if (m) return validDay(m[3]!, m[2]!, m[1]!) ? `${m[3]}${pad2(m[2]!)}${pad2(m[1]!)}` : undefined;
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
  if (m) return validDay(m[1]!, m[2]!, m[3]!) ? t : undefined;
  return undefined;
}

/**
 * The date part a search word stands for, as the start of a DICOM date: a whole date (as parseStudyDate),
 * or a month (`2024-02`, `02.2024`, `202402`). Undefined for anything else, so the word is searched as text only.
 */
export function searchDatePrefix(word: string): string | undefined {
  const whole = parseStudyDate(word);
  if (whole) return whole;
  let m = /^(\d{4})[-/](\d{1,2})$/.exec(word);
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) return `${m[1]}${pad2(m[2]!)}`;
  m = /^(\d{1,2})\.(\d{4})$/.exec(word);
  if (m && Number(m[1]) >= 1 && Number(m[1]) <= 12) return `${m[2]}${pad2(m[1]!)}`;
  return undefined;
}
