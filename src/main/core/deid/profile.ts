import table from './profile/table-e1-1.json';
import supplement from './profile/table-e1-1-supplement-2024b.json';
import { type Tag, parseTag, groupOf, elementOf } from '../dicom';

/** The option columns of PS3.15 Table E.1-1, as keys of the data file. */
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

/**
 * The actions of PS3.15 E.1.1, reduced to what we do. Where the table offers a choice
 * (X/Z, X/D, Z/D, X/Z/D, X/Z/U*), we take the one that keeps the attribute present, so
 * type 1 and type 2 attributes stay valid for the SOP class: Z over X, D over Z, U over the rest.
 */
export type ProfileAction = 'keep' | 'remove' | 'empty' | 'dummy' | 'uid' | 'clean';

const ACTION_BY_CODE: Record<string, ProfileAction> = {
  K: 'keep',
  X: 'remove',
  Z: 'empty',
  D: 'dummy',
  U: 'uid',
  C: 'clean',
  'X/Z': 'empty',
  'X/D': 'dummy',
  'Z/D': 'dummy',
  'X/Z/D': 'dummy',
  'X/Z/U*': 'uid',
};

export function actionForCode(code: string): ProfileAction {
  const action = ACTION_BY_CODE[code];
  if (!action) throw new Error(`Unknown PS3.15 action code "${code}"`);
  return action;
}

export interface ProfileRow {
  name: string;
  tag: string;
  basic: string;
  options: Record<ProfileOption, string>;
}

/** When several enabled options name an action for the same attribute, the first in this order wins. */
export const OPTION_PRECEDENCE: readonly ProfileOption[] = [
  'rtnUIDsOpt',
  'rtnDevIdOpt',
  'rtnInstIdOpt',
  'rtnPatCharsOpt',
  'rtnLongFullDatesOpt',
  'rtnLongModifDatesOpt',
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

export const PROFILE_SOURCE = { source: table.source, edition: table.edition, retrieved: table.retrieved };
export const SUPPLEMENT_SOURCE = { source: supplement.source, edition: supplement.edition, retrieved: supplement.retrieved };
const mainRows = table.rows as ProfileRow[];
const mainTags = new Set(mainRows.map((r) => r.tag.toUpperCase()));
/** Rows of the 2024b edition that the main transcription lacks; a supplement row never overrides a main one. */
export const supplementRows: readonly ProfileRow[] = (supplement.rows as ProfileRow[]).filter((r) => !mainTags.has(r.tag.toUpperCase()));
export const profileRows: readonly ProfileRow[] = [...mainRows, ...supplementRows];

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

/** The action for an attribute under the enabled options; undefined means the table does not list it. */
export function resolveAction(t: Tag, enabled: ReadonlySet<ProfileOption>): ProfileAction | undefined {
  const row = profileRowFor(t);
  if (!row) return undefined;
  for (const option of OPTION_PRECEDENCE) {
    const code = row.options[option];
    if (code && enabled.has(option)) return actionForCode(code);
  }
  return actionForCode(row.basic);
}
