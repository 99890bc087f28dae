import {
  type DicomDataset,
  type DicomElement,
  type ParsedInstance,
  TEXT_VRS,
  decodeText,
  formatTag,
  keywordOf,
  specificCharacterSetOf,
  PIXEL_DATA,
  groupOf,
  tagOf,
  type Tag,
} from '../dicom';
import type { ByteSource } from '../dicom/source';
import { PERSON_CODE_SEQUENCES, PLACE_CODE_SEQUENCES, collectIdentifyingValues } from '../deid/identifying-values';
import { isDescriptorWord } from '../deid/descriptor-cleaner';
import { type CompiledNeedle, type NeedleKind, compactForSearch, compileNeedle, containsNeedle, foldForSearch } from '../deid/text-match';
import { findWrittenDates } from '../deid/written-dates';
import { pdfText } from './pdf-text';

/** What the policy keeps on purpose: values found only there are not evidence of a leak. */
export interface RetainedByPolicy {
  /** True for an attribute the profile with its options keeps unchanged (Retain UIDs, Device or Institution Identity…). */
  keepsAttribute?(tag: Tag): boolean;
  /** The birth date rule leaves this birth date as it was (born on the day the rule writes). */
  birthDateUnchanged?: boolean;
}

/** A value a de-identified instance must not contain, taken from its original, with how it is matched. */
export interface IdentifyingValue {
  value: string;
  /** name/place: whole words in any spelling; identifier: also compact; verbatim/uid: as written; birthDate: any written form. */
  kind: NeedleKind | 'uid' | 'birthDate';
}

/**
 * The identifying values of an original (deid/identifying-values.ts): every person at any depth (PN in all
 * component groups, person identification codes), identifiers, places, instance UIDs, the birth date and its
 * alternative-calendar form. Nothing is dropped because it also appears in a Code Meaning or the maker's name:
 * a Person Identification Code Sequence puts the person's name in a Code Meaning.
 */
export function identifyingValuesOf(original: DicomDataset, retained: RetainedByPolicy = {}): IdentifyingValue[] {
  const v = collectIdentifyingValues(original, { keepsAttribute: retained.keepsAttribute });
  const out = new Map<string, IdentifyingValue>();
  const add = (value: string, kind: IdentifyingValue['kind']): void => {
    const key = `${kind}:${foldForSearch(value)}`;
    if (!out.has(key)) out.set(key, { value, kind });
  };
  v.names.forEach((n) => add(n, 'name'));
  // A single word of a name that is also an ordinary descriptor word ("Last Name^First Name", "Enter text") would
  // be found in every SR; the whole name still is a needle.
  v.nameWords.filter((n) => !isDescriptorWord(n)).forEach((n) => add(n, 'name'));
  v.identifiers.forEach((n) => add(n, 'identifier'));
  v.places.forEach((n) => add(n, 'place'));
  v.alternativeCalendarDates.forEach((n) => add(n, 'verbatim'));
  v.uids.forEach((n) => add(n, 'uid'));
  if (!retained.birthDateUnchanged) v.birthDates.forEach((n) => add(n, 'birthDate'));
  return [...out.values()];
}

/** Where a residual identifying value was found: the attribute path, never the value itself. */
export interface ResidualFinding {
  path: string;
}

/**
 * The gateway's own values in the output (research ID, site code, research accession and study IDs, dummies,
 * the de-identification method text) and the maker's name the profile keeps: never evidence of a leak, even when
 * equal to a value of the original (a site code "KGH" that is also the Issuer of Patient ID).
 */
export interface OwnValues {
  values: string[];
}

/** Compiled needles, with the gateway's own values masked out of every text before it is searched. */
class NeedleSet {
  private readonly needles: CompiledNeedle[] = [];
  private readonly uids: string[] = [];
  private readonly birthDates = new Set<string>();
  private readonly own: string[];
  private readonly dateProbes: string[] = [];
  readonly asciiOnly: boolean;

  constructor(identifying: IdentifyingValue[], own: OwnValues) {
    for (const v of identifying) {
      if (v.kind === 'uid') this.uids.push(v.value.toLowerCase());
      else if (v.kind === 'birthDate') {
        this.birthDates.add(v.value);
        const year = Number(v.value.slice(0, 4));
        // Japanese eras by first year: the era year of any date is its year minus the era's first year, plus one.
        // An era begins within its first year, so a date in that year may belong to the one before: both.
        for (const [start, kanji, letter] of ERAS.filter(([y]) => y <= year).slice(0, 2)) {
          const n = year - start + 1;
          this.dateProbes.push(`${kanji}${n}`, `${letter}${n}`, ...(n === 1 ? [`${kanji}元`] : []));
        }
        this.dateProbes.push(String(year));
      }
      else {
        const n = compileNeedle(v.value, v.kind);
        if (n) this.needles.push(n);
      }
    }
    // Longest first, so a research ID that starts with the site code is masked whole.
    this.own = [...new Set(own.values.map((s) => foldForSearch(s.trim())).filter((s) => s.length >= 2))].sort((a, b) => b.length - a.length);
    this.asciiOnly = identifying.every((v) => /^[\x20-\x7e]*$/.test(v.value));
  }

  /** Whether folded text holds any identifying value once the gateway's own values are taken out. */
  hit(text: string): boolean {
    let folded = foldForSearch(text);
    for (const o of this.own) if (folded.includes(o)) folded = folded.split(o).join(' ');
    if (this.uids.some((u) => folded.includes(u))) return true;
    const compact = compactForSearch(folded);
    if (this.needles.some((n) => containsNeedle(folded, n, compact))) return true;
    // A birth date in any full written form; two-digit-year and six-digit forms are too like times to be evidence.
    // Every full form holds the year, or its era and era year (昭和47年, s47.4.25): only text around those is read.
    return windowsAround(folded, this.dateProbes).some((w) =>
      findWrittenDates(w).some((d) => (d.certain || d.end - d.start === 8) && d.readings.some((r) => this.birthDates.has(r))));
  }
}

// Japanese eras: first Gregorian year, name, one-letter abbreviation (folded: lower case).
const ERAS: Array<[number, string, string]> = [[2019, '令和', 'r'], [1989, '平成', 'h'], [1926, '昭和', 's'], [1912, '大正', 't'], [1868, '明治', 'm']];

// Longer than any written date ("23 de septiembre de 1965"), so a date around a probe is always whole in its window.
const DATE_WINDOW = 40;

/** The stretches of text within DATE_WINDOW of any probe, overlapping ones merged. */
function windowsAround(text: string, probes: string[]): string[] {
  const spans: Array<[number, number]> = [];
  for (const p of probes) {
    for (let at = text.indexOf(p); at >= 0; at = text.indexOf(p, at + 1)) spans.push([Math.max(0, at - DATE_WINDOW), at + p.length + DATE_WINDOW]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const out: string[] = [];
  let current: [number, number] | undefined;
  for (const span of spans) {
    if (current && span[0] <= current[1]) current[1] = Math.max(current[1], span[1]);
    else {
      if (current) out.push(text.slice(current[0], current[1]));
      current = [span[0], span[1]];
    }
  }
  if (current) out.push(text.slice(current[0], current[1]));
  return out;
}

// Single-byte sets whose bytes read as latin1 fold to the same letters; any other set is matched decoded.
const LATIN1_READABLE = new Set(['', 'ISO_IR 6', 'ISO_IR 100', 'ISO 2022 IR 6', 'ISO 2022 IR 100']);
const ENCAPSULATED_DOCUMENT = tagOf('EncapsulatedDocument');
const CODE_SYSTEM_NAMES = new Set([tagOf('CodingSchemeDesignator'), tagOf('CodingSchemeVersion')]);
const CODE_VALUES = new Set([tagOf('CodeValue'), tagOf('LongCodeValue'), tagOf('URNCodeValue')]);

/**
 * Scans a de-identified instance (every element at every depth, private or not, decoded with its character
 * set; the text of an encapsulated PDF, streams inflated) and its raw bytes outside pixel data for any
 * identifying value of the original, leaving out the gateway's own values.
 */
export function findResidualPhi(output: ParsedInstance, identifying: IdentifyingValue[], own: OwnValues = { values: [] }): ResidualFinding[] {
  const needles = new NeedleSet(identifying, own);
  const findings = new Map<string, ResidualFinding>();
  const found = (name: string): void => void findings.set(name, { path: name });
  let excused = false;
  const walk = (ds: DicomDataset, inherited: string[], prefix: string, sequence = ''): void => {
    const charset = specificCharacterSetOf(ds, inherited);
    for (const e of ds.values()) {
      const keyword = keywordOf(e.tag) ?? formatTag(e.tag);
      const name = `${prefix}${keyword}`;
      if (e.items) {
        e.items.forEach((item, i) => walk(item, charset, `${name}[${i}].`, keyword));
        continue;
      }
      // The image itself is out of scope (burned-in text has its own check); everything else is scanned.
      if (!e.value || (prefix === '' && groupOf(e.tag) === PIXEL_GROUP)) continue;
      const text = TEXT_VRS.has(e.vr) ? decodeText(e.value, e.vr, charset) : e.value.toString('latin1');
      if (!needles.hit(text)) continue;
      // A coding scheme's designator names a code system ("TEST", "SRT"), never a person, whatever a name spells.
      // A code's value names a concept ("2721" of a waveform annotation), unless it is an identification code (a
      // staff ID in Person Identification Code Sequence). Code Meanings are always searched.
      if (CODE_SYSTEM_NAMES.has(e.tag) || (CODE_VALUES.has(e.tag) && !PERSON_CODE_SEQUENCES.has(sequence) && !PLACE_CODE_SEQUENCES.has(sequence))) excused = true;
      else found(name);
    }
  };
  walk(output.meta, [], 'FileMeta.');
  // Bytes outside pixel data hold every element's value too; an ASCII value is the same bytes in any DICOM
  // character set, so when all values are ASCII, the set reads as latin1 and the bytes hold none, no element
  // can: the walk that names the attribute runs only after a hit, or when text must be matched decoded.
  const raw = rawBytesOutsidePixelData(output.source, output.dataset).toString('latin1');
  const rawHit = needles.hit(raw);
  const charset = specificCharacterSetOf(output.dataset);
  const readable = charset.every((t) => LATIN1_READABLE.has(t.trim()));
  if (rawHit || !needles.asciiOnly || !readable) walk(output.dataset, [], '');
  // A PDF's text is compressed and escaped: no byte search sees it.
  const document = output.dataset.get(ENCAPSULATED_DOCUMENT);
  const pdf = document && documentBytes(document, output.source);
  if (pdf && isPdf(pdf) && needles.hit(pdfText(pdf))) found('EncapsulatedDocument (PDF text)');
  // Bytes no element accounts for (padding, a malformed tail).
  if (rawHit && findings.size === 0 && !excused) found('(file bytes outside any attribute)');
  return [...findings.values()];
}

const isPdf = (bytes: Buffer): boolean => bytes.subarray(0, 1024).includes('%PDF');

function documentBytes(e: DicomElement, source: ByteSource): Buffer | undefined {
  if (e.value) return e.value;
  return e.bulk ? source.read(e.bulk.offset, e.bulk.length) : undefined;
}

const PIXEL_GROUP = 0x7fe0;

function rawBytesOutsidePixelData(source: ByteSource, dataset: DicomDataset): Buffer {
  const pixel = dataset.get(PIXEL_DATA);
  const all = (): Buffer => source.read(0, source.size);
  if (pixel?.bulk) {
    const { offset, length } = pixel.bulk;
    return Buffer.concat([source.read(0, offset), source.read(offset + length, source.size - offset - length)]);
  }
  if (!pixel?.value || pixel.value.length < 64) return all();
  // Pixel data small enough to be loaded has no recorded offset: it is found where it lies, normally last.
  const bytes = all();
  const tail = bytes.length - pixel.value.length;
  const at = tail >= 0 && bytes.subarray(tail).equals(pixel.value) ? tail : bytes.lastIndexOf(pixel.value);
  return at < 0 ? bytes : Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + pixel.value.length)]);
}
