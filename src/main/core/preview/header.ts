import type { HeaderAttribute } from '../../../shared/api';
import {
  type DicomDataset, TEXT_VRS, decodeText, formatTag, keywordOf, parseInstanceFile, specificCharacterSetOf, trimValue,
} from '../dicom';

const MAX_TEXT = 200;
const MAX_DEPTH = 3;

function describe(ds: DicomDataset, charset: string[], depth: number, prefix: string, out: HeaderAttribute[]): void {
  for (const e of [...ds.values()].sort((a, b) => a.tag - b.tag)) {
    const keyword = keywordOf(e.tag) ?? '';
    const tag = `${prefix}${formatTag(e.tag)}`;
    if (e.items) {
      out.push({ tag, keyword, vr: e.vr, value: `sequence of ${e.items.length} item(s)` });
      if (depth < MAX_DEPTH) {
        e.items.forEach((item, n) => describe(item, specificCharacterSetOf(item, charset), depth + 1, `${tag}[${n}] `, out));
      }
    } else if (e.bulk) {
      out.push({ tag, keyword, vr: e.vr, value: `${e.bulk.length} bytes (not shown)` });
    } else if (e.value && TEXT_VRS.has(e.vr)) {
      const text = trimValue(decodeText(e.value, e.vr, charset), e.vr);
      out.push({ tag, keyword, vr: e.vr, value: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text });
    } else {
      out.push({ tag, keyword, vr: e.vr, value: `${e.value?.length ?? 0} bytes (binary)` });
    }
  }
}

/** The attributes of a DICOM file as text, for the technologist to inspect a de-identified header. */
export function readHeader(file: string): HeaderAttribute[] {
  const parsed = parseInstanceFile(file);
  try {
    const out: HeaderAttribute[] = [];
    describe(parsed.meta, [], 0, '', out);
    describe(parsed.dataset, specificCharacterSetOf(parsed.dataset), 0, '', out);
    return out;
  } finally {
    parsed.close();
  }
}
