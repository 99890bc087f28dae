import dcmjs from 'dcmjs';
import { type Tag, parseTag, isPrivate, isPrivateCreator, elementOf } from './tag';

export interface DictionaryEntry {
  tag: Tag;
  vr: string;
  keyword: string;
}

let byTag: Map<Tag, DictionaryEntry> | undefined;
let byKeyword: Map<string, DictionaryEntry> | undefined;

// dcmjs carries the PS3.6 data dictionary; we index it once, by tag and by keyword.
function load(): void {
  if (byTag) return;
  byTag = new Map();
  byKeyword = new Map();
  const nameMap = dcmjs.data.DicomMetaDictionary.nameMap;
  for (const entry of Object.values(nameMap)) {
    if (!/^\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)$/.test(entry.tag)) continue;
    // Some attributes allow several VRs ("US or SS"); the first is the usual one.
    const vr = entry.vr.split(/[ |]/)[0] ?? 'UN';
    const e: DictionaryEntry = { tag: parseTag(entry.tag), vr, keyword: entry.name };
    byTag.set(e.tag, e);
    byKeyword.set(e.keyword, e);
  }
}

/** The VR the dictionary gives for a tag, for implicit-VR data and for elements we create. */
export function vrOf(t: Tag): string {
  load();
  const known = byTag!.get(t);
  if (known) return known.vr;
  if (elementOf(t) === 0) return 'UL'; // group length
  if (isPrivateCreator(t)) return 'LO';
  if (isPrivate(t)) return 'UN';
  return 'UN';
}

export function keywordOf(t: Tag): string | undefined {
  load();
  return byTag!.get(t)?.keyword;
}

export function tagOf(keyword: string): Tag {
  load();
  const e = byKeyword!.get(keyword);
  if (!e) throw new Error(`Unknown DICOM keyword: ${keyword}`);
  return e.tag;
}
