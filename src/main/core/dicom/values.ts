import type { DicomDataset, DicomElement } from './model';
import type { Tag } from './tag';
import { decodeIso2022, isIso2022MultiByte } from './iso2022';

/** VRs whose value is text; everything else is binary and is never rewritten as text. */
export const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

// DICOM Defined Terms for Specific Character Set (PS3.3 C.12.1.1.2) mapped to WHATWG encoding labels.
export const CHARSETS: Record<string, string> = {
  '': 'latin1', 'ISO_IR 6': 'latin1', 'ISO 2022 IR 6': 'latin1',
  'ISO_IR 100': 'latin1', 'ISO 2022 IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2', 'ISO 2022 IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3', 'ISO 2022 IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4', 'ISO 2022 IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5', 'ISO 2022 IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6', 'ISO 2022 IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7', 'ISO 2022 IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8', 'ISO 2022 IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9', 'ISO 2022 IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15', 'ISO 2022 IR 203': 'iso-8859-15',
  'ISO_IR 13': 'shift_jis', 'ISO 2022 IR 13': 'shift_jis', 'ISO 2022 IR 87': 'iso-2022-jp', 'ISO 2022 IR 159': 'iso-2022-jp',
  'ISO_IR 166': 'windows-874', 'ISO 2022 IR 166': 'windows-874',
  'ISO 2022 IR 149': 'euc-kr', 'ISO 2022 IR 58': 'gb18030',
  'ISO_IR 192': 'utf-8', GB18030: 'gb18030', GBK: 'gbk',
};

/** Decodes text with the dataset's Specific Character Set; text VRs outside PN/LO/SH/ST/LT/UC/UT are always ASCII. */
export function decodeText(bytes: Buffer, vr: string, specificCharacterSet: string[]): string {
  const ascii = !['PN', 'LO', 'SH', 'ST', 'LT', 'UC', 'UT'].includes(vr);
  // Escape sequences switch sets inside a value: no single WHATWG label reads them (IR 149's ESC $ ) C, IR 13 + IR 87).
  if (!ascii && isIso2022MultiByte(specificCharacterSet)) return decodeIso2022(bytes, vr, specificCharacterSet);
  // With several terms (code extensions), the last non-default one is the best single guess.
  const term = ascii ? '' : ([...specificCharacterSet].reverse().find((t) => t.trim() !== '') ?? '').trim();
  const label = CHARSETS[term] ?? 'latin1';
  try {
    return decoderFor(label).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

// A decoder without streaming keeps no state between calls, so one per label serves every value (making one is slow).
const decoders = new Map<string, TextDecoder>();
function decoderFor(label: string): TextDecoder {
  let decoder = decoders.get(label);
  if (!decoder) decoders.set(label, (decoder = new TextDecoder(label)));
  return decoder;
}

export function stringValue(dataset: DicomDataset, t: Tag, specificCharacterSet: string[] = []): string | undefined {
  const e = dataset.get(t);
  if (!e?.value || !TEXT_VRS.has(e.vr)) return undefined;
  return trimValue(decodeText(e.value, e.vr, specificCharacterSet), e.vr);
}

export function trimValue(text: string, vr: string): string {
  return vr === 'UI' ? text.replace(/\0+$/, '').trim() : text.replace(/[\0 ]+$/, '').replace(/^ +/, '');
}

/** A new text value, padded to even length as PS3.5 requires (UI with NUL, others with space). */
export function textElement(t: Tag, vr: string, text: string): DicomElement {
  let bytes = Buffer.from(text, 'latin1');
  if (bytes.length % 2 === 1) bytes = Buffer.concat([bytes, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  return { tag: t, vr, value: bytes };
}

export function specificCharacterSetOf(dataset: DicomDataset, inherited: string[] = []): string[] {
  const e = dataset.get(0x00080005);
  if (!e?.value) return inherited;
  return e.value.toString('latin1').split('\\').map((s) => s.trim());
}
