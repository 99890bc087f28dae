/**
 * Matching identifying values in text the way people write them: case- and accent-folded (ø → o, é → e,
 * ß → ss), full-width forms as ASCII, with or without punctuation and spaces between the parts, and with word
 * boundaries that hold for every script (CJK text has no spaces, so a CJK character never counts as the inside of
 * a Latin word, and a CJK needle needs no boundary). Shared by the descriptor cleaner and the residual check.
 */

const SPECIAL_FOLDS: Record<string, string> = {
  ß: 'ss', ẞ: 'ss', ø: 'o', Ø: 'o', æ: 'ae', Æ: 'ae', œ: 'oe', Œ: 'oe', đ: 'd', Đ: 'd', ł: 'l', Ł: 'l',
  þ: 'th', Þ: 'th', ð: 'd', Ð: 'd', ı: 'i', ħ: 'h', Ħ: 'h',
};

const COMBINING = /\p{M}/gu;
const HANGUL_SYLLABLE = /[\uac00-\ud7a3]/;
const NON_ASCII = /[^\p{ASCII}]/u;

/** One character folded: compatibility-decomposed, marks dropped, lower case. */
function foldChar(ch: string): string {
  // Hangul syllables have neither case nor accents; decomposed they would be jamo no pattern is written in.
  if (HANGUL_SYLLABLE.test(ch)) return ch;
  return SPECIAL_FOLDS[ch] ?? ch.normalize('NFKD').replace(COMBINING, '').toLowerCase();
}

/** Text folded for matching (no positions kept: the residual check only needs to know whether). */
export function foldForSearch(text: string): string {
  const lower = text.toLowerCase();
  if (!NON_ASCII.test(lower)) return lower;
  // Only the non-ASCII characters need folding; a file's header has binary values full of them, so each is folded
  // once, and runs of ASCII are copied whole.
  let out = '';
  let from = 0;
  for (let i = 0; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    if (code < 0x80) continue;
    if (i > from) out += lower.slice(from, i);
    const wide = code >= 0xd800 && code <= 0xdbff && i + 1 < lower.length;
    out += code < 0x100 ? LATIN1_FOLDS[code - 0x80]! : cachedFold(wide ? lower.slice(i, i + 2) : lower[i]!);
    if (wide) i += 1;
    from = i + 1;
  }
  return out + lower.slice(from);
}

const LATIN1_FOLDS = Array.from({ length: 0x80 }, (_, i) => foldChar(String.fromCharCode(0x80 + i)));

const FOLDED = new Map<string, string>();
function cachedFold(ch: string): string {
  let f = FOLDED.get(ch);
  if (f === undefined) {
    f = foldChar(ch);
    if (FOLDED.size < 65536) FOLDED.set(ch, f);
  }
  return f;
}

/** Folded text with, for each folded UTF-16 unit, the start of the original character it came from. */
export interface FoldedText {
  text: string;
  /** from[i]: index in the original of the character folded unit i came from; from[text.length]: original length. */
  from: number[];
}

export function foldWithPositions(text: string): FoldedText {
  let out = '';
  const from: number[] = [];
  let at = 0;
  for (const ch of text) {
    const f = foldChar(ch);
    for (let i = 0; i < f.length; i++) from.push(at);
    out += f;
    at += ch.length;
  }
  from.push(at);
  return { text: out, from };
}

/** A span of folded text mapped back to the original: [start, end) in original UTF-16 units. */
export function originalSpan(folded: FoldedText, start: number, end: number): [number, number] {
  // A match may end inside one character's fold (the first "s" of ß → "ss"): the whole character goes.
  const last = folded.from[end - 1]!;
  let i = end;
  while (i < folded.text.length && folded.from[i] === last) i += 1;
  return [folded.from[start]!, folded.from[i]!];
}

const CJK_CLASS = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}';
export const CJK = new RegExp(`[${CJK_CLASS}]`, 'u');
/** A character that continues a word: a letter or digit of a script that separates words by spaces. */
const WORD_CHAR = new RegExp(`^(?![${CJK_CLASS}])[\\p{L}\\p{N}]$`, 'u');
const DIGIT = /^\p{N}$/u;

// What may stand between the parts of an identifier: ASCII punctuation and white space (the compact look-up takes
// out exactly these, so it never misses a match the pattern would find).
const ID_SEPARATOR = '[\\s!-/:-@\\[-`{-~]';
const ID_SEPARATORS = new RegExp(`${ID_SEPARATOR}+`, 'g');
// What may stand between the words of a name or place: spaces and punctuation (ASCII, Latin-1, general, CJK and
// full-width). Written as ranges, not Unicode properties: each instance compiles its own patterns, and property
// classes make that slow.
const NAME_GAP = '[\\s!-/:-@\\[-`{-~\\u00a0-\\u00bf\\u00d7\\u00f7\\u2000-\\u206f\\u3000-\\u303f\\u30fb\\uff01-\\uff0f\\uff1a-\\uff20]';

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export type NeedleKind = 'name' | 'identifier' | 'place' | 'verbatim';

/** What must not adjoin a match: nothing checked, a digit, or a letter or digit of a spaced script. */
type Boundary = 'none' | 'digit' | 'word';

/** An identifying value compiled for folded text. */
export interface CompiledNeedle {
  /** A literal every match contains (folded), to skip the regular expression when it is absent. */
  probe: string;
  /** An identifier without separators, which every match contains once separators are taken out of the text. */
  compact?: string;
  pattern: RegExp;
  before: Boundary;
  after: Boundary;
}

const PARTS = new RegExp(`[${CJK_CLASS}]|[\\p{L}\\p{N}]+`, 'gu');

/** The parts of a folded value: runs of letters or digits; each CJK character its own part. */
function partsOf(folded: string, splitLetterDigit: boolean): string[] {
  const runs = folded.match(PARTS) ?? [];
  if (!splitLetterDigit) return runs;
  return runs.flatMap((r) => r.match(/\p{L}+|\p{N}+/gu) ?? [r]);
}

/**
 * Compiles a value into a pattern over folded text. Names and places: their words in order with any punctuation
 * or none between them, bounded as whole words. Identifiers: also with or without separators inside (MRN-0042
 * as MRN0042, 1234 567 as 1234567), bounded so a number is never found inside a longer number. Verbatim values
 * (a date in another calendar): the text as written, anywhere.
 */
export function compileNeedle(value: string, kind: NeedleKind): CompiledNeedle | undefined {
  const folded = foldForSearch(value.trim());
  if (kind === 'verbatim') {
    if (folded.length < 4) return undefined;
    return { probe: folded, pattern: new RegExp(escapeRegExp(folded), 'gu'), before: 'none', after: 'none' };
  }
  const parts = partsOf(folded, kind === 'identifier');
  if (parts.length === 0) return undefined;
  let body: string;
  if (kind === 'identifier') {
    // Any single separator or none between characters (never a dot: UIDs are dotted numbers).
    body = parts.map((p) => [...p].map(escapeRegExp).join('[-\\s/_]?')).join(`${ID_SEPARATOR}{0,2}`);
  } else {
    // Initials ("S R") only with something between them, or they would be every "SR" in the file.
    body = parts.map(escapeRegExp).reduce((acc, p, i) => {
      if (i === 0) return p;
      const initial = parts[i - 1]!.length === 1 || parts[i]!.length === 1;
      return `${acc}${NAME_GAP}${initial && !CJK.test(parts[i]!) ? '+' : '*'}${p}`;
    }, '');
  }
  const first = [...parts[0]!][0]!;
  const lastPart = [...parts[parts.length - 1]!];
  const last = lastPart[lastPart.length - 1]!;
  // An identifier of six or more characters is distinctive enough to be found inside other text ("xxMRN0042xx"),
  // except next to a digit: a number inside a longer number is another number.
  const long = kind === 'identifier' && parts.join('').length >= 6;
  const edge = (ch: string): Boundary => {
    if (CJK.test(ch)) return 'none';
    if (kind === 'identifier' && DIGIT.test(ch)) return 'digit';
    return long ? 'none' : 'word';
  };
  const probe = parts.reduce((a, b) => (b.length > a.length ? b : a), '');
  const pattern = new RegExp(body, 'gu');
  const compiled = { pattern, before: edge(first), after: edge(last) };
  if (kind === 'identifier') return { probe: probe.slice(0, 1), compact: parts.join(''), ...compiled };
  return { probe, ...compiled };
}

function bounded(ch: string | undefined, boundary: Boundary): boolean {
  if (ch === undefined || boundary === 'none') return true;
  return boundary === 'digit' ? !DIGIT.test(ch) : !WORD_CHAR.test(ch);
}

/** Every match of a compiled needle in folded text, as [start, end) of the folded text. */
export function matchesOf(folded: string, needle: CompiledNeedle, firstOnly = false): Array<[number, number]> {
  if (!folded.includes(needle.probe)) return [];
  const out: Array<[number, number]> = [];
  const re = needle.pattern;
  re.lastIndex = 0;
  for (let m = re.exec(folded); m; m = re.exec(folded)) {
    const end = m.index + m[0].length;
    if (bounded(folded[m.index - 1], needle.before) && bounded(folded[end], needle.after)) {
      out.push([m.index, end]);
      if (firstOnly) break;
    } else {
      // Not bounded here: a match may still start one character later ("xmary mary").
      re.lastIndex = m.index + 1;
    }
  }
  return out;
}

/** The text without the separators an identifier may have inside it (see compileNeedle), for a quick look first. */
export const compactForSearch = (folded: string): string => folded.replace(ID_SEPARATORS, '');

export function containsNeedle(folded: string, needle: CompiledNeedle, compact?: string): boolean {
  if (!folded.includes(needle.probe)) return false;
  if (needle.compact && compact !== undefined && !compact.includes(needle.compact)) return false;
  return matchesOf(folded, needle, true).length > 0;
}
