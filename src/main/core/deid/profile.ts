import table from './profile/ps3.15-2026d-table-e1-1.json';
import requirements from './profile/iod-requirements.json';
import { type Tag, parseTag, groupOf, elementOf } from '../dicom';

/** The option columns of PS3.15 Table E.1-1. */
export type ProfileOption =
  | 'rtnSafePrivOpt'
  | 'rtnUIDsOpt'
  | 'rtnDevIdOpt'
  | 'rtnInstIdOpt'
  | 'rtnPatCharsOpt'
  | 'rtnLongFullDatesOpt'
  | 'rtnLongModifDatesOpt'
  | 'cleanDescOpt'
  | 'cleanStructContOpt'
  | 'cleanGraphOpt';

/** The action codes of PS3.15 E.1.1, as the table writes them. */
export type ActionCode = 'K' | 'X' | 'Z' | 'D' | 'U' | 'C' | 'X/Z' | 'X/D' | 'Z/D' | 'X/Z/D' | 'X/Z/U*';
const ACTION_CODES: ReadonlySet<string> = new Set(['K', 'X', 'Z', 'D', 'U', 'C', 'X/Z', 'X/D', 'Z/D', 'X/Z/D', 'X/Z/U*']);

/** What the engine does; a code with a choice becomes one of these once the attribute's Type is known. */
export type ProfileAction = 'keep' | 'remove' | 'empty' | 'dummy' | 'uid' | 'clean';

/** The attribute's Type where it sits (PS3.3), when `iod-requirements.json` knows it. */
export type AttributeType = '1' | '2' | '3';

// The source's column keys, mapped to ours.
const OPTION_KEYS: Record<string, ProfileOption> = {
  retain_safe_private: 'rtnSafePrivOpt',
  retain_uids: 'rtnUIDsOpt',
  retain_device_identity: 'rtnDevIdOpt',
  retain_institution_identity: 'rtnInstIdOpt',
  retain_patient_characteristics: 'rtnPatCharsOpt',
  retain_longitudinal_full_dates: 'rtnLongFullDatesOpt',
  retain_longitudinal_modified_dates: 'rtnLongModifDatesOpt',
  clean_descriptors: 'cleanDescOpt',
  clean_structured_content: 'cleanStructContOpt',
  clean_graphics: 'cleanGraphOpt',
};

export interface ProfileRow {
  name: string;
  tag: string;
  retired: boolean;
  inStandardIod: boolean;
  basic: ActionCode;
  /** Only the options that name an action for this row. */
  options: Partial<Record<ProfileOption, ActionCode>>;
}

function code(value: string, where: string): ActionCode {
  if (!ACTION_CODES.has(value)) throw new Error(`Unknown PS3.15 action code "${value}" (${where})`);
  return value as ActionCode;
}

export const PROFILE_SOURCE = {
  table: table.table,
  edition: table.edition,
  source: 'pymedphys/pymedphys lib/pymedphys/_dicom/deidentify/_standard/e1_1.json @ 339bb77aa5c6f03f2b0c576d2ba025fbf709e738',
  contentSha256: table.content_sha256,
};

export const profileRows: readonly ProfileRow[] = table.rows.map((r) => {
  const options: Partial<Record<ProfileOption, ActionCode>> = {};
  for (const [key, value] of Object.entries(r.options as Record<string, string>)) {
    const option = OPTION_KEYS[key];
    if (!option) throw new Error(`Unknown PS3.15 option column "${key}" (${r.tag})`);
    options[option] = code(value, `${r.tag} ${key}`);
  }
  return { name: r.name, tag: r.tag, retired: r.retired, inStandardIod: r.in_standard_iod, basic: code(r.basic_profile, r.tag), options };
});

/**
 * When several enabled options name an action for the same attribute, the first in this order wins. Modified
 * dates come first: a device's calibration date kept whole under Retain Device Identity would give away the real
 * dates the site asked to modify.
 */
export const OPTION_PRECEDENCE: readonly ProfileOption[] = [
  'rtnLongModifDatesOpt',
  'rtnUIDsOpt',
  'rtnDevIdOpt',
  'rtnInstIdOpt',
  'rtnPatCharsOpt',
  'rtnLongFullDatesOpt',
  'cleanDescOpt',
  'cleanStructContOpt',
  'cleanGraphOpt',
  'rtnSafePrivOpt',
];

interface WildcardRow {
  mask: number;
  value: number;
  row: ProfileRow;
}

const exact = new Map<Tag, ProfileRow>();
const wildcards: WildcardRow[] = [];
for (const row of profileRows) {
  if (/^\([0-9A-Fa-f]{4},[0-9A-Fa-f]{4}\)$/.test(row.tag)) {
    exact.set(parseTag(row.tag), row);
  } else if (/^\([0-9A-Fa-fx]{4},[0-9A-Fa-fx]{4}\)$/.test(row.tag)) {
    // "(50xx,xxxx)": each x is a free hex digit.
    const hex = row.tag.replace(/[(),]/g, '');
    const mask = parseInt(hex.replace(/[0-9A-Fa-f]/g, 'F').replace(/x/g, '0'), 16) >>> 0;
    const value = parseInt(hex.replace(/x/g, '0'), 16) >>> 0;
    wildcards.push({ mask, value, row });
  }
  // The private-attributes row ("(gggg,eeee) where gggg is odd") is handled by the engine's private-tag rule.
}

/** The table row that governs a public attribute, if any. Curve (50xx) and overlay (60xx) rows match by mask. */
export function profileRowFor(t: Tag): ProfileRow | undefined {
  const row = exact.get(t);
  if (row) return row;
  // Repeating groups are even groups 50xx/60xx only; odd ones are private.
  if ((groupOf(t) & 1) === 0 && elementOf(t) !== 0) {
    for (const w of wildcards) if ((t & w.mask) >>> 0 === w.value) return w.row;
  }
  return undefined;
}

/** The table's code for an attribute under the enabled options; undefined when the table does not list it. */
export function resolveCode(t: Tag, enabled: ReadonlySet<ProfileOption>): ActionCode | undefined {
  const row = profileRowFor(t);
  if (!row) return undefined;
  for (const option of OPTION_PRECEDENCE) {
    const c = row.options[option];
    if (c && enabled.has(option)) return c;
  }
  return row.basic;
}

/**
 * One action for a code. A choice (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) is settled by the attribute's Type where it
 * sits: X for Type 3, Z for Type 2, D for Type 1. When the Type is not known, the choice that keeps the
 * attribute present is taken (D over Z over X), so a Type 1 or 2 attribute is never removed by mistake.
 * A plain X or Z on an attribute that is Type 2 or Type 1 there becomes Z or D, so the file stays valid.
 */
export function actionForCode(c: ActionCode, type?: AttributeType): ProfileAction {
  switch (c) {
    case 'K':
      return 'keep';
    case 'U':
      return 'uid';
    case 'C':
      return 'clean';
    case 'D':
      return 'dummy';
    case 'X':
      return type === '1' ? 'dummy' : type === '2' ? 'empty' : 'remove';
    case 'Z':
      return type === '1' ? 'dummy' : 'empty';
    case 'X/Z':
      return type === '3' ? 'remove' : type === '1' ? 'dummy' : 'empty';
    case 'X/D':
      return type === '3' ? 'remove' : 'dummy';
    case 'Z/D':
      return type === '2' || type === '3' ? 'empty' : 'dummy';
    case 'X/Z/D':
      return type === '3' ? 'remove' : type === '2' ? 'empty' : 'dummy';
    case 'X/Z/U*':
      return type === '3' ? 'remove' : type === '2' ? 'empty' : 'uid';
  }
}

/** The action for an attribute under the enabled options; undefined means the table does not list it. */
export function resolveAction(t: Tag, enabled: ReadonlySet<ProfileOption>, type?: AttributeType): ProfileAction | undefined {
  const c = resolveCode(t, enabled);
  return c === undefined ? undefined : actionForCode(c, type);
}

/** Where an attribute sits: at the top of the dataset, or in an item of the sequence with this tag. */
export type Placement = 'top' | Tag;

export const IOD_REQUIREMENTS_SOURCE = requirements.source;
const typeByPlacement = new Map<string, AttributeType>();
for (const r of requirements.attributes) {
  const within = r.within === 'top' ? 'top' : String(parseTag(r.within));
  typeByPlacement.set(`${within} ${parseTag(r.tag)}`, r.type as AttributeType);
}

/** The attribute's Type at this placement, where `iod-requirements.json` records it (the same in every IOD we carry). */
export function attributeTypeAt(t: Tag, placement: Placement): AttributeType | undefined {
  return typeByPlacement.get(`${placement === 'top' ? 'top' : String(placement)} ${t}`);
}
