/**
 * What a line of burned-in text is: identifying (it matches one of the instance's own identifying values, in any
 * spelling OCR may produce), harmless (laterality and view markers, numbers with units), or other readable text.
 */

/** The identifying values of one instance, read from its original header before de-identification. */
export interface IdentifyingValues {
  /** Person names in DICOM form (`FAMILY^GIVEN^MIDDLE`, groups separated by `=`): patient, staff, others. */
  names: string[];
  /** Patient ID, other IDs, accession number, staff and device IDs. */
  ids: string[];
  /** Dates that identify (the birth date), as YYYYMMDD. */
  dates: string[];
  /** Institution and department names. */
  institutions: string[];
}

export type TextKind = 'identifying' | 'harmless' | 'other' | 'unreadable';

/** The marks a mammography unit writes on the image, which researchers need: laterality, view, modifiers. */
const MARKERS = new Set([
  'L', 'R', 'LT', 'RT', 'LEFT', 'RIGHT', 'B', 'BI', 'BILAT', 'BILATERAL',
  'CC', 'MLO', 'ML', 'LM', 'LMO', 'SIO', 'FB', 'XCCL', 'XCCM', 'XCC', 'AT', 'CV', 'RL', 'RM', 'TAN', 'ID', 'IMF',
  'LCC', 'RCC', 'LMLO', 'RMLO', 'LML', 'RML', 'LLM', 'RLM', 'LXCCL', 'RXCCL', 'LFB', 'RFB', 'LAT', 'RAT', 'LSIO', 'RSIO',
  'SPOT', 'MAG', 'M', 'S', 'COMP', 'COMPRESSION', 'IMPLANT', 'DISPLACED', 'TOMO', 'DBT', 'C', 'VIEW', 'SCREEN',
  'KV', 'KVP', 'MA', 'MAS', 'MM', 'CM', 'N', 'DAN', 'MGY', 'GY', 'DEG', 'AGD', 'ESD', 'ESAK', 'MO', 'RH', 'W', 'AG', 'AL',
]);

const MONTHS: Record<string, number> = {};
// English, German, French, Spanish, Italian, Dutch, Portuguese and Scandinavian month names and their short forms,
// as written beside a birth date; accents are folded before they are looked up.
for (const [month, names] of [
  [1, 'JAN JANUARY JANUAR JANVIER JANV ENERO ENE GENNAIO GEN JANUARI JANEIRO JANUARIO'],
  [2, 'FEB FEBRUARY FEBRUAR FEVRIER FEV FEVR FEBRERO FEBBRAIO FEBRUARI FEVEREIRO FEBR'],
  [3, 'MAR MARCH MAERZ MARZ MARS MARZO MAART MARCO'],
  [4, 'APR APRIL AVRIL AVR ABRIL ABR APRILE'],
  [5, 'MAY MAI MAYO MAGGIO MAG MEI MAIO MAJ'],
  [6, 'JUN JUNE JUNI JUIN JUNIO GIUGNO GIU JUNHO'],
  [7, 'JUL JULY JULI JUILLET JUIL JULIO GIUGLIO LUGLIO LUG JULHO'],
  [8, 'AUG AUGUST AOUT AGOSTO AGO AUGUSTUS AUGUSTI'],
  [9, 'SEP SEPT SEPTEMBER SEPTEMBRE SEPTIEMBRE SETTEMBRE SET SETEMBRO'],
  [10, 'OCT OCTOBER OKT OKTOBER OCTOBRE OCTUBRE OTTOBRE OTT OUTUBRO OUT'],
  [11, 'NOV NOVEMBER NOVEMBRE NOVIEMBRE NOVEMBRO'],
  [12, 'DEC DECEMBER DEZ DEZEMBER DECEMBRE DICIEMBRE DIC DICEMBRE DESEMBER DEZEMBRO DES'],
] as Array<[number, string]>) for (const name of names.split(' ')) MONTHS[name] = month;

/** Upper case, accents and ligatures folded, everything that is not a letter or digit a single space. */
export function foldText(text: string): string {
  return text
    .replace(/ß/g, 'ss').replace(/[Øø]/g, 'o').replace(/[Ææ]/g, 'ae').replace(/[Œœ]/g, 'oe').replace(/[Łł]/g, 'l')
    .replace(/[Đđ]/g, 'd').replace(/[Þþ]/g, 'th')
    .normalize('NFKD').replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** OCR's usual confusions between letters and digits, for comparing identifiers. */
const DIGIT_LOOKALIKES: Record<string, string> = { O: '0', Q: '0', D: '0', I: '1', L: '1', T: '1', Z: '2', S: '5', B: '8', G: '6' };
const asDigits = (s: string): string => s.replace(/[OQDILTZSBG]/g, (c) => DIGIT_LOOKALIKES[c]!);

/** Levenshtein distance, stopping early above `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j += 1) {
      const v = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      row.push(v);
      if (v < best) best = v;
    }
    if (best > limit) return limit + 1;
    previous = row;
  }
  return previous[b.length]!;
}

/** The dates a line may spell out, as YYYYMMDD: numeric in any order and separator, or with a month name. */
export function datesIn(folded: string): Set<string> {
  const found = new Set<string>();
  const add = (y: number, m: number, d: number): void => {
    if (m < 1 || m > 12 || d < 1 || d > 31) return;
    const years = y >= 100 ? [y] : [1900 + y, 2000 + y];
    for (const year of years) found.add(`${year}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`);
  };
  const tokens = folded.split(' ').filter(Boolean);
  // A run of 6 or 8 digits written without separators: YYYYMMDD, DDMMYYYY, MMDDYYYY, YYMMDD, DDMMYY, MMDDYY.
  for (const token of tokens) {
    const digits = asDigits(token);
    if (/^\d{8}$/.test(digits)) {
      add(+digits.slice(0, 4), +digits.slice(4, 6), +digits.slice(6, 8));
      add(+digits.slice(4, 8), +digits.slice(2, 4), +digits.slice(0, 2));
      add(+digits.slice(4, 8), +digits.slice(0, 2), +digits.slice(2, 4));
    } else if (/^\d{6}$/.test(digits)) {
      add(+digits.slice(0, 2), +digits.slice(2, 4), +digits.slice(4, 6));
      add(+digits.slice(4, 6), +digits.slice(2, 4), +digits.slice(0, 2));
      add(+digits.slice(4, 6), +digits.slice(0, 2), +digits.slice(2, 4));
    }
    // 23JUL1965: a day, a month name and a year run together.
    const joined = /^(\d{1,2})([A-Z]{3,9})(\d{2}|\d{4})$/.exec(token);
    if (joined && MONTHS[joined[2]!]) add(+joined[3]!, MONTHS[joined[2]!]!, +joined[1]!);
  }
  // Three neighbouring parts: numbers in any of the three usual orders, or with a month name.
  for (let i = 0; i + 2 < tokens.length; i += 1) {
    const [a, b, c] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!];
    const n = (t: string): number | undefined => (/^\d{1,4}$/.test(asDigits(t)) ? +asDigits(t) : undefined);
    const [na, nb, nc] = [n(a), n(b), n(c)];
    if (na !== undefined && nb !== undefined && nc !== undefined) {
      add(na, nb, nc);
      add(nc, nb, na);
      add(nc, na, nb);
    }
    if (na !== undefined && MONTHS[b] && nc !== undefined) add(nc, MONTHS[b]!, na);
    if (MONTHS[a] && nb !== undefined && nc !== undefined) add(nc, MONTHS[a]!, nb);
  }
  return found;
}

interface PreparedValues {
  nameParts: Set<string>;
  longNameParts: string[];
  compactIds: string[];
  dates: Set<string>;
  institutionWords: string[][];
}

/** Folds the identifying values once per instance. */
export function prepareValues(values: IdentifyingValues): PreparedValues {
  const nameParts = new Set<string>();
  for (const name of values.names) {
    for (const part of foldText(name.replace(/[\^=]/g, ' ')).split(' ')) if (part.length >= 2 && !MARKERS.has(part)) nameParts.add(part);
  }
  return {
    nameParts,
    longNameParts: [...nameParts].filter((p) => p.length >= 5),
    compactIds: values.ids.map((id) => asDigits(foldText(id).replace(/ /g, ''))).filter((id) => id.length >= 4),
    dates: new Set(values.dates.filter((d) => /^\d{8}$/.test(d))),
    institutionWords: values.institutions.map((i) => foldText(i).split(' ').filter((w) => w.length >= 3)).filter((w) => w.length > 0),
  };
}

/** Why a line of text identifies the patient (or staff, or institution), or undefined if nothing matches. */
export function identifyingMatch(text: string, values: PreparedValues): string | undefined {
  const folded = foldText(text);
  if (!folded) return undefined;
  const words = folded.split(' ');
  for (const word of words) {
    if (values.nameParts.has(word)) return 'a name';
    // OCR slips a letter now and then: a long name part one edit away still counts.
    if (word.length >= 5 && values.longNameParts.some((p) => distance(word, p, 1) <= 1)) return 'a name';
  }
  const compact = asDigits(folded.replace(/ /g, ''));
  if (values.compactIds.some((id) => compact.includes(id))) return 'an identifier';
  for (const date of datesIn(folded)) if (values.dates.has(date)) return 'a date of birth';
  for (const institution of values.institutionWords) {
    const hits = institution.filter((w) => words.some((word) => word === w || (w.length >= 6 && distance(word, w, 1) <= 1))).length;
    if (hits >= Math.min(2, institution.length)) return 'the institution';
  }
  return undefined;
}

/** A reading OCR is unsure of and that no identifying value matches: noise, not text anyone can read. */
const MIN_CONFIDENCE = 75;

/** Classifies the words OCR read on one line. */
export function classifyLine(words: Array<{ text: string; confidence: number }>, values: PreparedValues): { kind: TextKind; why?: string } {
  const text = words.map((w) => w.text).join(' ');
  const why = identifyingMatch(text, values);
  if (why) return { kind: 'identifying', why };
  const readable = words.filter((w) => w.confidence >= MIN_CONFIDENCE && /[\p{L}\p{N}]/u.test(w.text));
  if (readable.length === 0) return { kind: 'unreadable' };
  const tokens = readable.flatMap((w) => foldText(w.text).split(' ')).filter(Boolean);
  const harmless = tokens.every((t) => MARKERS.has(t) || /^\d+([.,]\d+)?$/.test(t) || /^\d+([.,]\d+)?(KV|KVP|MAS|MA|MM|CM|N|DAN|MGY|DEG)$/.test(t));
  if (harmless) return { kind: 'harmless' };
  // OCR reads a few letters into tissue edges and noise ("HEE", "blu"): text is one longer word or several words.
  const longer = tokens.filter((t) => /^[\p{L}\p{N}]{3,}$/u.test(t));
  if (!longer.some((t) => t.length >= 4) && longer.length < 2) return { kind: 'unreadable' };
  return { kind: 'other' };
}
