import iconv from 'iconv-lite';

/**
 * ISO 2022 code extensions as DICOM uses them (PS3.5 6.1.2.5, PS3.3 C.12.1.1.2): the Japanese (IR 13, IR 87,
 * IR 159), Korean (IR 149) and Chinese (IR 58) multi-byte sets, switched by escape sequences inside a value. Both
 * directions are here so a cleaned descriptor reads back as exactly the text that was meant.
 */

const ESC = 0x1b;

/** A coded character set that escape sequences designate, with the bytes that designate it. */
interface CodedSet {
  term: string;
  escape: number[];
  /** G0 sets use 7-bit bytes, G1 sets 8-bit bytes. */
  element: 'G0' | 'G1';
  bytesPerChar: 1 | 2;
  /** The 8-bit legacy encoding whose bytes (with the high bit set) are this set's code points. */
  legacy: string;
}

const E = (s: string): number[] => [ESC, ...Buffer.from(s, 'latin1')];
const JIS_X_0208: CodedSet = { term: 'ISO 2022 IR 87', escape: E('$B'), element: 'G0', bytesPerChar: 2, legacy: 'euc-jp' };
const KATAKANA: CodedSet = { term: 'ISO 2022 IR 13', escape: E(')I'), element: 'G1', bytesPerChar: 1, legacy: 'shift_jis' };
const KS_X_1001: CodedSet = { term: 'ISO 2022 IR 149', escape: E('$)C'), element: 'G1', bytesPerChar: 2, legacy: 'euc-kr' };
const GB_2312: CodedSet = { term: 'ISO 2022 IR 58', escape: E('$)A'), element: 'G1', bytesPerChar: 2, legacy: 'gbk' };
// JIS X 0212 is decoded (EUC-JP's 0x8F prefix) but never written: the encoder picks JIS X 0208, which covers Jōyō kanji.
const JIS_X_0212_ESCAPE = E('$(D');
const ASCII_ESCAPES = [E('(B'), E('(J')];
const MULTI_BYTE_SETS = [JIS_X_0208, KATAKANA, KS_X_1001, GB_2312];

/** True when these Specific Character Set terms use ISO 2022 escapes for a multi-byte set this codec knows. */
export function isIso2022MultiByte(terms: readonly string[]): boolean {
  const t = terms.map((s) => s.trim());
  return t.some((s) => s === 'ISO 2022 IR 87' || s === 'ISO 2022 IR 159' || s === 'ISO 2022 IR 149' || s === 'ISO 2022 IR 58') ||
    (t[0] === 'ISO 2022 IR 13' && t.length > 1);
}

const startsWith = (bytes: Buffer, at: number, seq: number[]): boolean => seq.every((b, i) => bytes[at + i] === b);

/** Characters at which PS3.5 returns to the initial code elements: value and component delimiters, line ends. */
function isResetPoint(ch: number, vr: string): boolean {
  return ch === 0x5c || ch === 0x0d || ch === 0x0a || ch === 0x09 || ch === 0x0c || (vr === 'PN' && (ch === 0x5e || ch === 0x3d));
}

/** Decodes a value written with ISO 2022 escapes. Unknown escapes are skipped, never shown as text. */
export function decodeIso2022(bytes: Buffer, vr: string, terms: readonly string[]): string {
  const katakanaFirst = terms[0]?.trim() === 'ISO 2022 IR 13';
  const initialG1: CodedSet | undefined = katakanaFirst ? KATAKANA : undefined;
  let g0: CodedSet | 'ascii' | 'jisx0212' = 'ascii';
  let g1 = initialG1;
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b === ESC) {
      const set = MULTI_BYTE_SETS.find((s) => startsWith(bytes, i, s.escape));
      if (set) {
        if (set.element === 'G0') g0 = set;
        else g1 = set;
        i += set.escape.length;
        continue;
      }
      const ascii = ASCII_ESCAPES.find((seq) => startsWith(bytes, i, seq));
      if (ascii) {
        g0 = 'ascii';
        i += ascii.length;
        continue;
      }
      if (startsWith(bytes, i, JIS_X_0212_ESCAPE)) {
        g0 = 'jisx0212';
        i += JIS_X_0212_ESCAPE.length;
        continue;
      }
      // Another set's escape (a single-byte G1 such as ESC - A): skip ESC and its intermediate and final bytes.
      i += 1;
      while (i < bytes.length && bytes[i]! >= 0x20 && bytes[i]! <= 0x2f) i += 1;
      i += 1;
      continue;
    }
    if (b >= 0x80) {
      if (g1?.bytesPerChar === 2 && i + 1 < bytes.length) {
        out += iconv.decode(bytes.subarray(i, i + 2), g1.legacy);
        i += 2;
      } else if (g1 === KATAKANA) {
        out += iconv.decode(bytes.subarray(i, i + 1), 'shift_jis');
        i += 1;
      } else {
        out += String.fromCharCode(b);
        i += 1;
      }
      continue;
    }
    if (g0 !== 'ascii' && b > 0x20 && i + 1 < bytes.length) {
      const pair = Buffer.from([bytes[i]! | 0x80, bytes[i + 1]! | 0x80]);
      out += iconv.decode(g0 === 'jisx0212' ? Buffer.concat([Buffer.from([0x8f]), pair]) : pair, 'euc-jp');
      i += 2;
      continue;
    }
    out += String.fromCharCode(b);
    if (isResetPoint(b, vr)) {
      g0 = 'ascii';
      g1 = initialG1;
    }
    i += 1;
  }
  return out;
}

/** The bytes of one character in a set, or undefined when the set has no such character. */
function bytesIn(set: CodedSet, ch: string): number[] | undefined {
  const legacy = [...iconv.encode(ch, set.legacy)];
  if (set === KATAKANA) return legacy.length === 1 && legacy[0]! >= 0xa1 && legacy[0]! <= 0xdf ? legacy : undefined;
  if (legacy.length !== 2 || legacy.some((b) => b < 0xa1 || b > 0xfe)) return undefined;
  return set.element === 'G0' ? legacy.map((b) => b & 0x7f) : legacy;
}

/**
 * Encodes text with the ISO 2022 sets these terms allow, designating each set where first needed and returning
 * to ASCII before every delimiter and at the end, as PS3.5 requires. Undefined when a character is in none.
 */
export function encodeIso2022(text: string, vr: string, terms: readonly string[]): Buffer | undefined {
  const allowed = new Set(terms.map((s) => s.trim()));
  const katakanaFirst = terms[0]?.trim() === 'ISO 2022 IR 13';
  const sets = MULTI_BYTE_SETS.filter((s) => allowed.has(s.term));
  const out: number[] = [];
  let g0: CodedSet | 'ascii' = 'ascii';
  let g1: CodedSet | undefined = katakanaFirst ? KATAKANA : undefined;
  const toAscii = (): void => {
    // With IR 13 first, G0 is JIS X 0201 romaji (ESC ( J), as the Japanese examples of PS3.5 H.3 write it.
    if (g0 !== 'ascii') out.push(...E(katakanaFirst ? '(J' : '(B'));
    g0 = 'ascii';
  };
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) {
      toAscii();
      out.push(code);
      if (isResetPoint(code, vr)) g1 = katakanaFirst ? KATAKANA : undefined;
      continue;
    }
    let written = false;
    for (const set of sets) {
      const bytes = bytesIn(set, ch);
      if (!bytes) continue;
      if (set.element === 'G0' && g0 !== set) {
        out.push(...set.escape);
        g0 = set;
      }
      if (set.element === 'G1' && g1 !== set) {
        out.push(...set.escape);
        g1 = set;
      }
      out.push(...bytes);
      written = true;
      break;
    }
    if (!written) return undefined;
  }
  toAscii();
  return Buffer.from(out);
}
