import { describe, expect, it } from 'vitest';
import {
  type DicomDataset,
  type DicomElement,
  type Tag,
  parseTag,
  tag,
  tagOf,
  textElement,
  trimValue,
  vrOf,
} from '../../src/main/core/dicom';
import { profileRows, profileRowFor, type ProfileOption, type ProfileRow } from '../../src/main/core/deid';
import type { DeidSettings } from '../../src/shared/settings';
import { baseDataset, contextFor, deidentifyRoundTrip } from '../support/deid-harness';

/** Each configuration the test runs every row under, with the option columns of the table it switches on. */
const CONFIGS: Array<{ name: string; settings: Partial<DeidSettings>; options: ProfileOption[] }> = [
  { name: 'default options', settings: {}, options: ['rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Retain Patient Characteristics off', settings: { retainPatientCharacteristics: false }, options: ['cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Retain Device Identity on', settings: { retainDeviceIdentity: true }, options: ['rtnDevIdOpt', 'rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Retain Institution Identity on', settings: { retainInstitutionIdentity: true }, options: ['rtnInstIdOpt', 'rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Retain UIDs on', settings: { retainUids: true }, options: ['rtnUIDsOpt', 'rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Retain Safe Private on', settings: { retainSafePrivate: { enabled: true, allowList: [] } }, options: ['rtnSafePrivOpt', 'rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongFullDatesOpt'] },
  { name: 'Clean Descriptors off', settings: { cleanDescriptors: false }, options: ['rtnPatCharsOpt', 'rtnLongFullDatesOpt'] },
  { name: 'study dates truncated to month', settings: { studyDates: { keep: 'month', day: 15, month: 7, maxShiftDays: 365 } }, options: ['rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongModifDatesOpt'] },
  { name: 'study dates truncated to year', settings: { studyDates: { keep: 'year', day: 1, month: 1, maxShiftDays: 365 } }, options: ['rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongModifDatesOpt'] },
  { name: 'study dates shifted', settings: { studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } }, options: ['rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongModifDatesOpt'] },
  {
    name: 'study dates shifted with Retain Device Identity on',
    settings: { retainDeviceIdentity: true, studyDates: { keep: 'shift', day: 15, month: 7, maxShiftDays: 365 } },
    options: ['rtnDevIdOpt', 'rtnPatCharsOpt', 'cleanDescOpt', 'rtnLongModifDatesOpt'],
  },
];

/** What the sentinel date 2019-03-17 must become under each configuration's study-date rule (shift is +10 days). */
const DATE_AFTER: Record<string, string> = {
  'study dates truncated to month': '20190315',
  'study dates truncated to year': '20190101',
  'study dates shifted': '20190327',
  'study dates shifted with Retain Device Identity on': '20190327',
};

// Concrete tags for the repeating-group rows; the private row has its own test below.
const WILDCARD_EXAMPLES: Record<string, { tag: Tag; vr: string }> = {
  '(50xx,xxxx)': { tag: parseTag('(5002,3000)'), vr: 'OB' },
  '(60xx,4000)': { tag: parseTag('(6002,4000)'), vr: 'LT' },
  '(60xx,3000)': { tag: parseTag('(6002,3000)'), vr: 'OB' },
};

/** A sequence the table does not list: kept, its items de-identified, so nested rows can be checked in it. */
const CONTAINER = tagOf('ViewCodeSequence');
const NESTED_UID = '1.2.826.0.1.3680043.10.77.1';
const NAME = 'HOLLOWAY';

function sentinel(t: Tag, vr: string, i: number): DicomElement {
  switch (vr) {
    case 'SQ':
      return {
        tag: t,
        vr,
        items: [new Map([
          [tagOf('ReferencedSOPInstanceUID'), textElement(tagOf('ReferencedSOPInstanceUID'), 'UI', NESTED_UID)],
          // Words of the shipped descriptor vocabulary: a cleaned meaning keeps them (others would be removed).
          [tagOf('CodeMeaning'), textElement(tagOf('CodeMeaning'), 'LO', 'SCREENING MAMMOGRAPHY')],
        ])],
      };
    case 'UI': return textElement(t, vr, `1.2.826.0.1.3680043.10.999.${i}`);
    case 'DA': return textElement(t, vr, '20190317');
    case 'DT': return textElement(t, vr, '20190317101112');
    case 'TM': return textElement(t, vr, '101112');
    case 'DS': return textElement(t, vr, '12.5');
    case 'IS': return textElement(t, vr, '77');
    case 'AS': return textElement(t, vr, '042Y');
    case 'CS': case 'AE': return textElement(t, vr, NAME);
    case 'UR': return textElement(t, vr, `http://${NAME.toLowerCase()}.example/`);
    case 'US': return { tag: t, vr, value: Buffer.from([7, 0]) };
    case 'OB': case 'OW': case 'UN': return { tag: t, vr, value: Buffer.from(`${NAME} BIN`, 'latin1') };
    default: return textElement(t, vr, `${NAME} R${i}`);
  }
}

/**
 * The table's code for a row under the options, read from the row itself. Where options disagree, a date the
 * settings ask to modify is modified (C under Retain Longitudinal Modified Dates); any other disagreement is a
 * test error.
 */
function expectedCode(row: ProfileRow, options: ProfileOption[]): string {
  if (options.includes('rtnLongModifDatesOpt') && row.options.rtnLongModifDatesOpt === 'C') return 'C';
  const codes = new Set(options.map((o) => row.options[o]).filter(Boolean));
  if (codes.size > 1) throw new Error(`${row.tag}: options disagree (${[...codes].join(', ')})`);
  return [...codes][0] ?? row.basic;
}

type Outcome = 'removed' | 'emptied' | 'kept' | 'replaced' | 'dummy code' | 'items de-identified';

/**
 * What each code of PS3.15 E.1.1 allows, written from the standard's definitions (not from the engine): a choice
 * such as X/Z/D allows each of its actions, the engine picks by the attribute's Type (tested in profile.test.ts
 * and below). On a sequence, D is one dummy code item when its items are codes (the sentinel's are), and K, U and
 * the choice's U keep the items, each de-identified in turn.
 */
const ALLOWED: Record<string, { value: Outcome[]; sequence: Outcome[] }> = {
  K: { value: ['kept'], sequence: ['items de-identified'] },
  X: { value: ['removed'], sequence: ['removed'] },
  Z: { value: ['emptied'], sequence: ['emptied'] },
  D: { value: ['replaced'], sequence: ['dummy code'] },
  U: { value: ['replaced'], sequence: ['items de-identified'] },
  'X/Z': { value: ['removed', 'emptied'], sequence: ['removed', 'emptied'] },
  'X/D': { value: ['removed', 'replaced'], sequence: ['removed', 'dummy code'] },
  'Z/D': { value: ['emptied', 'replaced'], sequence: ['emptied', 'dummy code'] },
  'X/Z/D': { value: ['removed', 'emptied', 'replaced'], sequence: ['removed', 'emptied', 'dummy code'] },
  'X/Z/U*': { value: ['removed', 'emptied', 'replaced'], sequence: ['removed', 'emptied', 'items de-identified'] },
};

const text = (e: DicomElement | undefined): string => (e?.value ? trimValue(e.value.toString('latin1'), e.vr) : '');

function outcomeOf(original: DicomElement, out: DicomElement | undefined): Outcome {
  if (!out) return 'removed';
  if (original.items) {
    const items = out.items ?? [];
    if (items.length === 0) return 'emptied';
    if (items.length === 1 && text(items[0]!.get(tagOf('CodingSchemeDesignator'))) === '99DEID') return 'dummy code';
    return 'items de-identified';
  }
  if ((out.value?.length ?? 0) === 0) return 'emptied';
  return out.value!.equals(original.value!) ? 'kept' : 'replaced';
}

// The engine's own rules, with their reasons; every other row follows the table.
const ENGINE_RULES: Record<string, string> = {
  '(0010,0010)': 'research ID',
  '(0010,0020)': 'research ID',
  '(0008,0050)': 'research accession number',
  '(0020,0010)': 'research study ID',
  '(0010,0030)': 'birth-date rule',
  '(0042,0011)': 'kept: encapsulated documents are held for review by SOP class (burned-in.ts) instead',
};

function check(row: ProfileRow, config: (typeof CONFIGS)[number], t: Tag, vr: string, original: DicomElement, out: DicomElement | undefined, ctx: ReturnType<typeof contextFor>): void {
  const where = `${row.tag} ${row.name} [${config.name}]`;
  switch (ENGINE_RULES[row.tag]) {
    case 'research ID': return void expect(text(out), where).toBe('SITE-TEST0001');
    case 'research accession number': return void expect(text(out), where).toBe('ACC0RESEARCH');
    case 'research study ID': return void expect(text(out), where).toBe('STUDY0RSRCH');
    case 'birth-date rule': return void expect(text(out), where).toBe('20190315');
    case undefined: break;
    default: return void expect(out?.value?.equals(original.value!), where).toBe(true);
  }
  // Command (0000) and file meta (0002) attributes never stay in a dataset; the meta is rebuilt from the new UIDs.
  if (t >>> 16 <= 0x0002) return void expect(out, where).toBeUndefined();
  const code = expectedCode(row, config.options);
  // Free text and binary values cannot be shown clean; where the Basic Profile keeps the attribute present (no X in
  // its code) the basic action applies instead, so an option never leaves a required attribute out.
  const cannotClean = ['LT', 'ST', 'UT', 'OB', 'OW', 'UN', 'US'].includes(vr);
  if (code === 'C' && !(cannotClean && !row.basic.includes('X'))) return checkClean(vr, config, original, out, where);
  const allowed = ALLOWED[code === 'C' ? row.basic : code];
  if (!allowed) throw new Error(`${where}: unexpected code ${code}`);
  const outcome = outcomeOf(original, out);
  expect(vr === 'SQ' ? allowed.sequence : allowed.value, `${where}: ${code} gave ${outcome}`).toContain(outcome);
  if (outcome === 'items de-identified') {
    const item = out!.items![0]!;
    expect(text(item.get(tagOf('CodeMeaning'))), where).toBe('SCREENING MAMMOGRAPHY');
    expect(text(item.get(tagOf('ReferencedSOPInstanceUID'))), where).toBe(config.settings.retainUids ? NESTED_UID : ctx.mapUid(NESTED_UID));
  }
  if (outcome === 'replaced') {
    // A UID is replaced by its stable mapping; anything else by a value that names no one.
    if (vr === 'UI') expect(text(out), where).toBe(ctx.mapUid(text(original)));
    else expect(out!.value!.toString('latin1'), where).not.toContain(NAME);
  }
}

/** C (clean) per VR: dates follow the date rule, times stay, free text and binary go, descriptors lose names. */
function checkClean(vr: string, config: (typeof CONFIGS)[number], original: DicomElement, out: DicomElement | undefined, where: string): void {
  if (['LT', 'ST', 'UT', 'OB', 'OW', 'UN', 'US'].includes(vr)) return void expect(out, where).toBeUndefined();
  expect(out, where).toBeDefined();
  if (vr === 'DA') return void expect(text(out), where).toBe(DATE_AFTER[config.name]);
  if (vr === 'DT') return void expect(text(out), where).toBe(`${DATE_AFTER[config.name]}101112`);
  if (vr === 'TM') return void expect(text(out), where).toBe(text(original));
  if (vr === 'SQ') {
    expect(text(out!.items?.[0]?.get(tagOf('CodeMeaning'))), where).toBe('SCREENING MAMMOGRAPHY');
    return;
  }
  expect(text(out), where).not.toContain(NAME);
}

describe('every row of PS3.15 2026d Table E.1-1, applied by the engine and read back from the encoded file', () => {
  const rows = profileRows.filter((r) => !r.tag.startsWith('(gggg'));

  it('covers every row but the private-attributes one, and the container used for nesting is not in the table', () => {
    expect(rows.length).toBe(656);
    expect(profileRows.length).toBe(657);
    expect(profileRowFor(CONTAINER)).toBeUndefined();
  });

  for (const config of CONFIGS) {
    it(`applies each row's action at top level and nested in a sequence: ${config.name}`, () => {
      let checked = 0;
      rows.forEach((row, i) => {
        const example = WILDCARD_EXAMPLES[row.tag];
        const t = example?.tag ?? parseTag(row.tag);
        const vr = example?.vr ?? vrOf(t);
        const original = sentinel(t, vr, i);
        const person = textElement(tagOf('PatientName'), 'PN', `${NAME}^JANE`);
        const birth = textElement(tagOf('PatientBirthDate'), 'DA', '20190317');
        for (const nested of [false, true]) {
          const ctx = contextFor(config.settings);
          const extra: DicomElement[] = [];
          if (t !== person.tag) extra.push(person);
          if (t !== birth.tag) extra.push(birth);
          if (nested) extra.push({ tag: CONTAINER, vr: 'SQ', items: [new Map([[t, original]])] });
          else extra.push(original);
          const ds: DicomDataset = baseDataset(extra);
          const { dataset } = deidentifyRoundTrip(ds, ctx);
          const out = nested ? dataset.get(CONTAINER)?.items?.[0]?.get(t) : dataset.get(t);
          check(row, config, t, vr, original, out, ctx);
          checked += 1;
        }
      });
      // Every row, twice: none skipped.
      expect(checked).toBe(1312);
    });
  }
});

describe('private attributes (the table\'s "gggg odd" row)', () => {
  const creator = (t: Tag, name: string): DicomElement => textElement(t, 'LO', name);
  const privateDataset = (): DicomDataset =>
    baseDataset([
      creator(tag(0x0009, 0x0010), 'ACME SAFE 1'),
      textElement(tag(0x0009, 0x1001), 'LO', 'ALLOWED VALUE'),
      textElement(tag(0x0009, 0x1002), 'LO', `${NAME} PRIVATE`),
      creator(tag(0x0009, 0x0011), 'OTHER VENDOR'),
      textElement(tag(0x0009, 0x1101), 'LO', `${NAME} OTHER`),
      creator(tag(0x0019, 0x0012), 'ACME SAFE 1'),
      textElement(tag(0x0019, 0x1201), 'LO', `${NAME} WRONG GROUP`),
    ]);

  it('removes every private attribute and creator by default', () => {
    const { dataset } = deidentifyRoundTrip(privateDataset(), contextFor());
    expect([...dataset.keys()].filter((t) => (t >>> 16) & 1)).toEqual([]);
  });

  it('keeps only the allow-listed (creator, element) pairs under Retain Safe Private, wherever the block sits', () => {
    const ctx = contextFor({ retainSafePrivate: { enabled: true, allowList: [{ creator: 'ACME SAFE 1', tag: '(0009,xx01)' }] } });
    const ds = privateDataset();
    // The same creator in another block: the element moves with it.
    ds.delete(tag(0x0009, 0x0010));
    ds.delete(tag(0x0009, 0x1001));
    ds.delete(tag(0x0009, 0x1002));
    ds.set(tag(0x0009, 0x0013), creator(tag(0x0009, 0x0013), 'ACME SAFE 1'));
    ds.set(tag(0x0009, 0x1301), textElement(tag(0x0009, 0x1301), 'LO', 'ALLOWED VALUE'));
    ds.set(tag(0x0009, 0x1302), textElement(tag(0x0009, 0x1302), 'LO', `${NAME} PRIVATE`));
    const { dataset } = deidentifyRoundTrip(ds, ctx);
    const kept = [...dataset.keys()].filter((t) => (t >>> 16) & 1).sort((a, b) => a - b);
    expect(kept).toEqual([tag(0x0009, 0x0013), tag(0x0009, 0x1301)]);
    expect(text(dataset.get(tag(0x0009, 0x1301)))).toBe('ALLOWED VALUE');
  });

  it('removes private attributes under Retain Safe Private when the allow-list is empty', () => {
    const { dataset } = deidentifyRoundTrip(privateDataset(), contextFor({ retainSafePrivate: { enabled: true, allowList: [] } }));
    expect([...dataset.keys()].filter((t) => (t >>> 16) & 1)).toEqual([]);
  });
});
