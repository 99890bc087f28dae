import { type DicomDataset, type DicomElement, TEXT_VRS, decodeText, trimValue } from '../dicom';
import { encodeText } from './charset';
import { type IdentifyingValues, collectIdentifyingValues } from './identifying-values';
import { CJK, type CompiledNeedle, type NeedleKind, compileNeedle, foldForSearch, foldWithPositions, matchesOf, originalSpan } from './text-match';
import { findWrittenDates } from './written-dates';
import vocabulary from './vocabulary/descriptor-terms.json';

/**
 * The Clean Descriptors Option, as one rule for every descriptor (Study/Series Description, Protocol Name, GSPS
 * text…):
 * 1. every identifying value of the instance (identifying-values.ts) is removed in any spelling text-match.ts
 *    knows, every full date in any written form, the birth date also in two-digit-year and compact forms, the
 *    birth date in the alternative calendar as written, and phone-like numbers;
 * 2. of what remains, a word is kept only if it is a term of the shipped vocabulary (vocabulary/descriptor-terms.json:
 *    DICOM view, laterality and mammography terms), a number of at most four digits or a number with a unit, or a
 *    single letter; any other word goes, because a name no attribute holds (a physician named only in free text)
 *    cannot be told from an ordinary word by any list of this instance's values.
 * So "MAMMO SCREEN BILAT", "L CC", "Tomosynthesis", "R MLO", "SYNTHESIZED 2D" stay as they are, and
 * "Screening requested by Dr Hansen 23 Jul 1965" becomes "Screening requested by".
 */

const TERMS = new Set<string>(Object.values(vocabulary.groups).flat().map((t) => foldForSearch(t)));
const CJK_TERMS = [...TERMS].filter((t) => CJK.test(t)).sort((a, b) => b.length - a.length);

// Phone numbers and long digit groups written as text, whoever they belong to.
const PHONE_LIKE = /\+?\d[\d ().-]{6,}\d/g;
const NUMBER = /^\d{1,4}(?:[.,]\d+)?$/;
const NUMBER_WITH_UNIT = /^\d{1,4}(?:[.,]\d+)?(?:mm|cm|kv|kvp|mas|mgy|ms|s|d|x|%|°|deg|th|st|nd|rd)$/;
const SHORT_CODE = /^[a-z]\d{1,2}$/;
const SINGLE_LETTER = /^\p{L}$/u;

const segmenter = new Intl.Segmenter('und', { granularity: 'word' });

/** A CJK word made wholly of vocabulary terms (the segmenter may join 乳房 and 撮影). */
function coveredByCjkTerms(folded: string): boolean {
  let rest = folded;
  while (rest) {
    const term = CJK_TERMS.find((t) => rest.startsWith(t));
    if (!term) return false;
    rest = rest.slice(term.length);
  }
  return true;
}

/** Whether a word may stay in a cleaned descriptor (rule 2 above). */
export function isDescriptorWord(word: string): boolean {
  const f = foldForSearch(word);
  if (TERMS.has(f) || NUMBER.test(f) || NUMBER_WITH_UNIT.test(f) || SHORT_CODE.test(f)) return true;
  if (SINGLE_LETTER.test(f) && !CJK.test(f)) return true;
  return CJK.test(f) && coveredByCjkTerms(f);
}

/** Removes what separators and brackets are left around removed words. */
function tidy(text: string): string {
  let s = text.replace(/\s+/g, ' ');
  for (let i = 0; i < 3; i++) {
    s = s
      .replace(/\(\s*\)|\[\s*\]|\{\s*\}|"\s*"|'\s*'/g, ' ')
      .replace(/\s+([,.;:!?)\]])/g, '$1')
      .replace(/([,;:/\-–])(?:\s*[,;:/\-–])+/g, '$1')
      .replace(/\s+/g, ' ');
  }
  return s.replace(/^[\s,.;:/\-–_]+|[\s,;:/\-–_]+$/g, '');
}

/** Cleans descriptors (Clean Descriptors Option) of one instance, from its identifying values known before anything changes. */
export class DescriptorCleaner {
  private readonly needles: CompiledNeedle[];
  private readonly birthDates: Set<string>;

  constructor(original: DicomDataset | IdentifyingValues) {
    const values = original instanceof Map ? collectIdentifyingValues(original) : original;
    const compile = (list: string[], kind: NeedleKind): CompiledNeedle[] =>
      list.map((v) => compileNeedle(v, kind)).filter((n): n is CompiledNeedle => n !== undefined);
    // Longest first, so "HOLLOWAY-SMITH" goes before "HOLLOWAY".
    const byLength = (list: string[]): string[] => [...list].sort((a, b) => b.length - a.length);
    this.needles = [
      ...compile(byLength(values.alternativeCalendarDates), 'verbatim'),
      ...compile(byLength(values.places), 'place'),
      ...compile(byLength(values.identifiers), 'identifier'),
      ...compile(byLength([...values.names, ...values.nameWords]), 'name'),
    ];
    this.birthDates = new Set(values.birthDates);
  }

  /** The descriptor without anything that identifies; the same string when nothing had to go. */
  clean(text: string): string {
    const folded = foldWithPositions(text);
    const spans: Array<[number, number]> = [];
    for (const n of this.needles) for (const [s, e] of matchesOf(folded.text, n)) spans.push(originalSpan(folded, s, e));
    for (const d of findWrittenDates(folded.text)) {
      if (d.certain || d.readings.some((r) => this.birthDates.has(r))) spans.push(originalSpan(folded, d.start, d.end));
    }
    for (const m of folded.text.matchAll(PHONE_LIKE)) spans.push(originalSpan(folded, m.index, m.index + m[0].length));
    const keep = new Array<boolean>(text.length).fill(true);
    for (const [s, e] of spans) keep.fill(false, s, e);
    // Removed text becomes a space, so the words either side of it stay apart.
    const rest = spans.length === 0 ? text : blankUnits(text, keep);
    let removedWord = false;
    let out = '';
    for (const seg of segmenter.segment(rest)) {
      if (seg.isWordLike && !isDescriptorWord(seg.segment)) {
        removedWord = true;
        out += ' ';
      } else out += seg.segment;
    }
    if (spans.length === 0 && !removedWord) return text;
    return tidy(out);
  }

  /**
   * A text element cleaned and written back in the instance's character set. `fallback` is written when nothing
   * is left or the text cannot be written back (a Type 1 attribute needs a value); else the value is emptied.
   */
  cleanElement(e: DicomElement, charset: string[], fallback = ''): DicomElement {
    if (!e.value || !TEXT_VRS.has(e.vr)) return e;
    const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
    const cleaned = this.clean(text);
    if (cleaned === text) return e;
    const bytes = encodeText(cleaned || fallback, e.vr, charset) ?? encodeText(fallback, e.vr, charset);
    // Text we cannot write back in the instance's character set is emptied rather than mis-encoded.
    return { tag: e.tag, vr: e.vr, value: bytes ?? Buffer.alloc(0) };
  }
}

/** Blanks by UTF-16 unit: spans start and end on character starts, so a surrogate pair goes whole. */
function blankUnits(text: string, keep: boolean[]): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += keep[i] ? text[i] : ' ';
  return out;
}
