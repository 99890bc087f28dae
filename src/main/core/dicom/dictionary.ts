import dcmjs from 'dcmjs';
import { type Tag, parseTag, isPrivate, isPrivateCreator, elementOf } from './tag';

export interface DictionaryEntry {
  tag: Tag;
  vr: string;
  keyword: string;
}

/**
 * Attributes of the current PS3.6 (named in PS3.15 2026d Table E.1-1) that the dcmjs dictionary predates.
 * Without them an implicit-VR instance would read them as UN, and `tagOf` would not know their keywords.
 */
const NEWER_ATTRIBUTES: ReadonlyArray<[string, string, string]> = [
  ['(0008,1301)', 'SQ', 'PrincipalDiagnosisCodeSequence'],
  ['(0008,1302)', 'SQ', 'PrimaryDiagnosisCodeSequence'],
  ['(0008,1303)', 'SQ', 'SecondaryDiagnosesCodeSequence'],
  ['(0008,1304)', 'SQ', 'HistologicalDiagnosesCodeSequence'],
  ['(0010,0011)', 'SQ', 'PersonNamesToUseSequence'],
  ['(0010,0012)', 'LT', 'NameToUse'],
  ['(0010,0013)', 'UT', 'NameToUseComment'],
  ['(0010,0014)', 'SQ', 'ThirdPersonPronounsSequence'],
  ['(0010,0015)', 'SQ', 'PronounCodeSequence'],
  ['(0010,0016)', 'UT', 'PronounComment'],
  ['(0010,0041)', 'SQ', 'GenderIdentitySequence'],
  ['(0010,0042)', 'UT', 'SexParametersForClinicalUseCategoryComment'],
  ['(0010,0043)', 'SQ', 'SexParametersForClinicalUseCategorySequence'],
  ['(0010,0044)', 'SQ', 'GenderIdentityCodeSequence'],
  ['(0010,0045)', 'UT', 'GenderIdentityComment'],
  ['(0010,0046)', 'SQ', 'SexParametersForClinicalUseCategoryCodeSequence'],
  ['(0010,0047)', 'UR', 'SexParametersForClinicalUseCategoryReference'],
  ['(0010,2162)', 'UC', 'EthnicGroups'],
  ['(3004,007F)', 'LO', 'DoseCalculationModelName'],
  ['(0040,A034)', 'DT', 'EffectiveStartDateTime'],
  ['(0040,A035)', 'DT', 'EffectiveStopDateTime'],
  ['(0040,B034)', 'DT', 'AnnotationDateTime'],
  ['(0040,B036)', 'DT', 'SegmentDefinitionDateTime'],
  ['(0040,B03B)', 'LT', 'MontageName'],
  ['(0040,B03F)', 'LO', 'MontageChannelLabel'],
  ['(0040,E012)', 'UR', 'DisplayURI'],
];

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
  for (const [t, vr, keyword] of NEWER_ATTRIBUTES) {
    const e: DictionaryEntry = { tag: parseTag(t), vr, keyword };
    // dcmjs wins only if it already knows the tag (a newer dcmjs); the list then changes nothing.
    if (!byTag.has(e.tag)) byTag.set(e.tag, e);
    if (!byKeyword.has(keyword)) byKeyword.set(keyword, e);
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
