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
];

/** What the sentinel date 2019-03-17 must become under each configuration's study-date rule (shift is +10 days). */
const DATE_AFTER: Record<string, string> = {
  'study dates truncated to month': '20190315',
  'study dates truncated to year': '20190101',
  'study dates shifted': '20190327',
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
// Attributes the engine writes itself after the walk, whatever the input held.
const WRITTEN_BY_ENGINE = new Set(['PatientIdentityRemoved', 'DeidentificationMethod', 'DeidentificationMethodCodeSequence', 'LongitudinalTemporalInformationModified'].map(tagOf));

function sentinel(t: Tag, vr: string, i: number): DicomElement {
  switch (vr) {
    case 'SQ':
      return {
        tag: t,
        vr,
        items: [new Map([
          [tagOf('ReferencedSOPInstanceUID'), textElement(tagOf('ReferencedSOPInstanceUID'), 'UI', NESTED_UID)],
          [tagOf('CodeMeaning'), textElement(tagOf('CodeMeaning'), 'LO', 'KEPT MEANING')],
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

/** The table's action for a row under the options, read from the row itself; more than one distinct code is a test error. */
function expectedCode(row: ProfileRow, options: ProfileOption[]): string {
  const codes = new Set(options.map((o) => row.options[o]).filter(Boolean));
  if (codes.size > 1) throw new Error(`${row.tag}: options disagree (${[...codes].join(', ')})`);
  return [...codes][0] ?? row.basic;
}

const text = (e: DicomElement | undefined): string => (e?.value ? trimValue(e.value.toString('latin1'), e.vr) : '');

function check(row: ProfileRow, config: (typeof CONFIGS)[number], t: Tag, vr: string, original: DicomElement, out: DicomElement | undefined, ctx: ReturnType<typeof contextFor>): void {
  const where = `${row.tag} ${row.name} [${config.name}]`;
  // Attributes the engine gives a crosswalk-linked value or a date rule, whatever the table says.
  if (t === tagOf('PatientName') || t === tagOf('PatientID')) return void expect(text(out), where).toBe('SITE-TEST0001');
  if (t === tagOf('AccessionNumber')) return void expect(text(out), where).toBe('ACC0RESEARCH');
  if (t === tagOf('StudyID')) return void expect(text(out), where).toBe('STUDY0RSRCH');
  if (t === tagOf('PatientBirthDate')) return void expect(text(out), where).toBe('20190315');

  // Command (0000) and file meta (0002) attributes never stay in a dataset; the meta is rebuilt from the new UIDs.
  if (t >>> 16 <= 0x0002) return void expect(out, where).toBeUndefined();
  const code = expectedCode(row, config.options);
  const action = { 'X/Z': 'Z', 'X/D': 'D', 'Z/D': 'D', 'X/Z/D': 'D', 'X/Z/U*': 'U' }[code] ?? code;
  if (action === 'X') return void expect(out, where).toBeUndefined();
  // Free text and values that are not text cannot be shown clean: removed.
  if (action === 'C' && ['LT', 'ST', 'UT', 'OB', 'OW', 'UN', 'US'].includes(vr)) return void expect(out, where).toBeUndefined();
  expect(out, where).toBeDefined();
  if (vr === 'SQ') {
    if (action === 'Z') return void expect(out!.items, where).toEqual([]);
    // Kept, cleaned or UID-mapped sequences keep their items, de-identified in turn.
    const item = out!.items?.[0];
    expect(item, where).toBeDefined();
    expect(text(item!.get(tagOf('CodeMeaning'))), where).toBe('KEPT MEANING');
    const uid = text(item!.get(tagOf('ReferencedSOPInstanceUID')));
    expect(uid, where).toBe(config.settings.retainUids ? NESTED_UID : ctx.mapUid(NESTED_UID));
    return;
  }
  const before = text(original);
  const after = text(out);
  switch (action) {
    case 'K':
      expect(out!.value?.equals(original.value!), where).toBe(true);
      return;
    case 'Z':
      expect(out!.value?.length ?? 0, where).toBe(0);
      return;
    case 'D':
      if (['OB', 'OW', 'UN', 'US'].includes(vr)) expect(out!.value, where).toEqual(Buffer.alloc(original.value!.length));
      else if (vr === 'UI') expect(after, where).toBe(ctx.mapUid(before));
      else {
        expect(after, where).not.toBe('');
        expect(after, where).not.toContain(NAME);
      }
      return;
    case 'U':
      expect(after, where).toBe(ctx.mapUid(before));
      return;
    case 'C':
      if (vr === 'DA') return void expect(after, where).toBe(DATE_AFTER[config.name]);
      if (vr === 'DT') return void expect(after, where).toBe(`${DATE_AFTER[config.name]}101112`);
      if (vr === 'TM') return void expect(after, where).toBe(before);
      // Descriptors lose the name of the instance's patient.
      expect(after, where).not.toContain(NAME);
      return;
    default:
      throw new Error(`${where}: unexpected code ${code}`);
  }
}

describe('every row of PS3.15 Table E.1-1, applied by the engine and read back from the encoded file', () => {
  const rows = profileRows.filter((r) => !r.tag.startsWith('(gggg'));

  it('covers every row, the supplement included, and the container used for nesting is not in the table', () => {
    expect(rows.length + 1).toBe(profileRows.length);
    expect(profileRowFor(CONTAINER)).toBeUndefined();
  });

  for (const config of CONFIGS) {
    it(`applies each row's action at top level and nested in a sequence: ${config.name}`, () => {
      let checked = 0;
      rows.forEach((row, i) => {
        const example = WILDCARD_EXAMPLES[row.tag];
        const t = example?.tag ?? parseTag(row.tag);
        const vr = example?.vr ?? (vrOf(t) === 'UN' ? 'LO' : vrOf(t));
        const original = sentinel(t, vr, i);
        const person = textElement(tagOf('PatientName'), 'PN', `${NAME}^JANE`);
        const birth = textElement(tagOf('PatientBirthDate'), 'DA', '20190317');
        for (const nested of [false, true]) {
          if (!nested && WRITTEN_BY_ENGINE.has(t)) continue;
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
      expect(checked).toBeGreaterThan(rows.length * 2 - 10);
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
