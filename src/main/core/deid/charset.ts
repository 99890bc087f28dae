import iconv from 'iconv-lite';
import { decodeText } from '../dicom';
import { encodeIso2022, isIso2022MultiByte } from '../dicom/iso2022';

const SINGLE_BYTE_ENCODERS = new Map<string, Map<string, number> | null>();

/** A char → byte table for a single-byte character set, built by decoding every byte once. */
function singleByteTable(specificCharacterSet: string[]): Map<string, number> | null {
  const key = specificCharacterSet.join('\\');
  let table = SINGLE_BYTE_ENCODERS.get(key);
  if (table !== undefined) return table;
  table = new Map();
  for (let b = 0; b < 256; b++) {
    const ch = decodeText(Buffer.from([b]), 'LO', specificCharacterSet);
    if (ch.length !== 1 || ch === '\ufffd') continue;
    if (!table.has(ch)) table.set(ch, b);
  }
  // Multi-byte sets decode single high bytes to U+FFFD: too few mapped characters means "not single-byte".
  if (table.size < 200) table = null;
  SINGLE_BYTE_ENCODERS.set(key, table);
  return table;
}

// Multi-byte sets without code extensions, written with iconv-lite (PS3.3 C.12.1.1.2 names GB18030 and GBK).
const MULTI_BYTE_LABELS: Record<string, string> = { GB18030: 'gb18030', GBK: 'gbk', 'ISO_IR 13': 'shift_jis' };

function multiByte(text: string, vr: string, terms: string[]): Buffer | undefined {
  if (isIso2022MultiByte(terms)) return encodeIso2022(text, vr, terms);
  const term = [...terms].reverse().find((t) => t.trim() !== '')?.trim() ?? '';
  const label = MULTI_BYTE_LABELS[term];
  return label ? iconv.encode(text, label) : undefined;
}

/**
 * Encodes text for a value of this VR in the dataset's Specific Character Set, so a cleaned descriptor is
 * written in the encoding its readers expect: single-byte sets, UTF-8, GB18030/GBK and the ISO 2022 multi-byte
 * sets (Japanese, Korean, Chinese). Undefined when that cannot be done faithfully (a character the set lacks);
 * the caller then empties the value.
 */
export function encodeText(text: string, vr: string, specificCharacterSet: string[]): Buffer | undefined {
  let bytes: Buffer | undefined;
  if ([...text].every((ch) => ch.charCodeAt(0) < 0x80)) bytes = Buffer.from(text, 'latin1');
  else if (!['PN', 'LO', 'SH', 'ST', 'LT', 'UC', 'UT'].includes(vr)) return undefined;
  else if (specificCharacterSet.some((t) => t.trim() === 'ISO_IR 192')) bytes = Buffer.from(text, 'utf8');
  else if ((bytes = multiByte(text, vr, specificCharacterSet)) === undefined) {
    const table = singleByteTable(specificCharacterSet);
    if (!table) return undefined;
    const out: number[] = [];
    for (const ch of text) {
      const b = table.get(ch);
      if (b === undefined) return undefined;
      out.push(b);
    }
    bytes = Buffer.from(out);
  }
  // Round trip as a check: what we write must read back as what we meant (iconv-lite writes "?" for what it lacks).
  if (decodeText(bytes, vr, specificCharacterSet) !== text) return undefined;
  if (bytes.length % 2 === 1) bytes = Buffer.concat([bytes, Buffer.from([0x20])]);
  return bytes;
}
