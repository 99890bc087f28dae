/**
 * Dates as people write them in descriptors, found in folded text (see text-match: lower case, no accents):
 * numeric with any separator and order, compact (19650723, 23071965), with month names or abbreviations in
 * English and the common European languages, DDMMMYYYY ("23jul1965"), "july 23, 1965", year–month–day in
 * CJK (1965年7月23日, 1965년 7월 23일) and Japanese era forms (昭和40年7月23日, s40.7.23).
 */

/** Month names and abbreviations, folded: en, de, fr, es, it, nl, pt, sv, da, no. */
const MONTHS: string[][] = [
  ['january', 'jan', 'januar', 'janv', 'janvier', 'enero', 'ene', 'gennaio', 'gen', 'januari', 'janeiro'],
  ['february', 'feb', 'febr', 'februar', 'fevrier', 'fev', 'fevr', 'febrero', 'febbraio', 'februari', 'fevereiro'],
  ['march', 'mar', 'marz', 'maerz', 'mars', 'marzo', 'marco', 'maart', 'mrt'],
  ['april', 'apr', 'avril', 'avr', 'abril', 'abr', 'aprile'],
  ['may', 'mai', 'mayo', 'maggio', 'mag', 'mei', 'maio', 'maj'],
  ['june', 'jun', 'juni', 'juin', 'junio', 'giugno', 'giu', 'junho'],
  ['july', 'jul', 'juli', 'juillet', 'juil', 'julio', 'luglio', 'lug', 'julho'],
  ['august', 'aug', 'aout', 'agosto', 'ago', 'augustus', 'augusti'],
  ['september', 'sep', 'sept', 'septembre', 'septiembre', 'set', 'settembre', 'sett', 'setembro'],
  ['october', 'oct', 'okt', 'oktober', 'octobre', 'ottobre', 'ott', 'octubre', 'outubro', 'out'],
  ['november', 'nov', 'novembre', 'noviembre', 'novembro'],
  ['december', 'dec', 'dez', 'dezember', 'decembre', 'diciembre', 'dic', 'dicembre', 'dezembro', 'des', 'desember'],
];
const MONTH_OF = new Map<string, number>(MONTHS.flatMap((names, i) => names.map((n) => [n, i + 1] as [string, number])));
// Longest first, so "juillet" is not read as "jul" + "let".
const MONTH_ALT = [...MONTH_OF.keys()].sort((a, b) => b.length - a.length).join('|');

/** Japanese eras (first Gregorian year), by kanji and by the one-letter abbreviation. */
const ERAS: Record<string, number> = { 明治: 1868, 大正: 1912, 昭和: 1926, 平成: 1989, 令和: 2019, m: 1868, t: 1912, s: 1926, h: 1989, r: 2019 };

const DAY = '(\\d{1,2})(?:st|nd|rd|th|er|e|o|º)?';
const SEP = "(?:[\\s\\-/.,']|de\\s|of\\s)*";
const MONTH = `(${MONTH_ALT})\\.?`;
const YEAR = '(\\d{4}|\\d{2})';

const PATTERNS: Array<{ re: RegExp; order: 'dmy' | 'mdy' | 'ymd' }> = [
  { re: new RegExp(`(?<!\\p{N})${DAY}${SEP}${MONTH}${SEP}${YEAR}(?!\\p{N})`, 'gu'), order: 'dmy' },
  { re: new RegExp(`(?<!\\p{L})${MONTH}${SEP}${DAY}${SEP}${YEAR}(?!\\p{N})`, 'gu'), order: 'mdy' },
  { re: new RegExp(`(?<!\\p{N})(\\d{4})${SEP}${MONTH}${SEP}(\\d{1,2})(?!\\p{N})`, 'gu'), order: 'ymd' },
];
const NUMERIC = /(?<!\d)(\d{1,4})\s*[-/._\s]\s*(\d{1,2})\s*[-/._\s]\s*(\d{1,4})(?!\d)/gu;
const COMPACT = /(?<!\d)(\d{8}|\d{6})(?!\d)/gu;
const CJK_DATE = /(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?/gu;
const ERA_DATE = /(明治|大正|昭和|平成|令和|(?<!\p{L})[mtshr])\s*(\d{1,2}|元)\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?/gu;

/** A date found in text: where, and what it can mean (an ambiguous 03/04/1965 has two readings). */
export interface WrittenDate {
  start: number;
  end: number;
  /** YYYYMMDD readings that are real calendar dates. */
  readings: string[];
  /** True when it is certainly a full date (four-digit year, month name, CJK or era form). */
  certain: boolean;
}

const pad = (n: number): string => String(n).padStart(2, '0');

function reading(y: number, m: number, d: number): string | undefined {
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1800 || y > 2199) return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCMonth() !== m - 1) return undefined;
  return `${y}${pad(m)}${pad(d)}`;
}

/** A two-digit year, read in both centuries the living were born in. */
function years(text: string): number[] {
  const n = Number(text);
  return text.length === 4 ? [n] : [1900 + n, 2000 + n];
}

function readings(candidates: Array<[number[], number, number]>): string[] {
  const out = new Set<string>();
  for (const [ys, m, d] of candidates) for (const y of ys) {
    const r = reading(y, m, d);
    if (r) out.add(r);
  }
  return [...out];
}

/** Every date in folded text, in any of the spellings above. */
export function findWrittenDates(folded: string): WrittenDate[] {
  const found: WrittenDate[] = [];
  const push = (m: RegExpMatchArray, rs: string[], certain: boolean): void => {
    if (rs.length > 0) found.push({ start: m.index!, end: m.index! + m[0].length, readings: rs, certain });
  };
  for (const { re, order } of PATTERNS) {
    for (const m of folded.matchAll(re)) {
      const [a, b, c] = [m[1]!, m[2]!, m[3]!];
      if (order === 'dmy') push(m, readings([[years(c), MONTH_OF.get(b)!, Number(a)]]), true);
      else if (order === 'mdy') push(m, readings([[years(c), MONTH_OF.get(a)!, Number(b)]]), true);
      else push(m, readings([[years(a), MONTH_OF.get(b)!, Number(c)]]), true);
    }
  }
  for (const m of folded.matchAll(NUMERIC)) {
    const [a, b, c] = [m[1]!, m[2]!, m[3]!];
    if (a.length === 4) push(m, readings([[[Number(a)], Number(b), Number(c)], [[Number(a)], Number(c), Number(b)]]), true);
    else if (c.length === 4 || c.length === 2) {
      push(m, readings([[years(c), Number(b), Number(a)], [years(c), Number(a), Number(b)]]), c.length === 4);
    } else if (a.length === 2) push(m, readings([[years(a), Number(b), Number(c)]]), false);
  }
  for (const m of folded.matchAll(COMPACT)) {
    const s = m[1]!;
    const rs = s.length === 8
      ? readings([[[Number(s.slice(0, 4))], Number(s.slice(4, 6)), Number(s.slice(6))], [[Number(s.slice(4))], Number(s.slice(2, 4)), Number(s.slice(0, 2))], [[Number(s.slice(4))], Number(s.slice(0, 2)), Number(s.slice(2, 4))]])
      : readings([[years(s.slice(0, 2)), Number(s.slice(2, 4)), Number(s.slice(4))], [years(s.slice(4)), Number(s.slice(2, 4)), Number(s.slice(0, 2))], [years(s.slice(4)), Number(s.slice(0, 2)), Number(s.slice(2, 4))]]);
    push(m, rs, false);
  }
  for (const m of folded.matchAll(CJK_DATE)) push(m, readings([[[Number(m[1])], Number(m[2]), Number(m[3])]]), true);
  for (const m of folded.matchAll(ERA_DATE)) {
    const start = ERAS[m[1]!]!;
    const year = start + (m[2] === '元' ? 1 : Number(m[2])) - 1;
    push(m, readings([[[year], Number(m[3]), Number(m[4])]]), true);
  }
  return found;
}
