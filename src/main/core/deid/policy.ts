import crypto from 'node:crypto';
import type { DeidSettings } from '../../../shared/settings';
import { PROFILE_SOURCE, profileRows } from './profile';
import requirements from './profile/iod-requirements.json';
import { describeBirthDateRule, describeStudyDateRule } from './date-rules';
import { enabledOptions } from './deidentify';

/** Bumped when the engine changes what it writes for the same settings and table (a new rule, a fixed defect). */
// 2: PS3.15 2026d; choices settled by the attribute's Type; identification codes replaced; overlay groups removed;
// alternative-calendar dates removed; DT values read per PS3.5; encapsulated documents held by SOP class.
export const POLICY_SCHEMA = 2;

/**
 * The de-identification policy: everything that decides what an output file contains, so a researcher and an
 * auditor can tell which rules produced it. `hash` is over `description`; settings that change nothing in a
 * file (ports, destination, retention, which modalities are held for burned-in review) are not part of it.
 */
export interface DeidPolicy {
  hash: string;
  /** The first 8 hex digits: what DeidentificationMethod carries ("policy 1a2b3c4d"). */
  shortHash: string;
  description: PolicyDescription;
}

export interface PolicyDescription {
  schema: number;
  profile: { table: string; edition: string; rows: string; iodRequirements: string };
  options: string[];
  birthDate: string;
  studyDates: string;
  retainSafePrivate: string[];
  siteCode: string;
}

// The table's content, not only its name: an edited row changes the policy even if no one renamed the file.
const rowsDigest = crypto.createHash('sha256').update(JSON.stringify(profileRows)).digest('hex').slice(0, 16);
const requirementsDigest = crypto.createHash('sha256').update(JSON.stringify(requirements.attributes)).digest('hex').slice(0, 16);

/** Describes only what each rule does: a setting that is ignored under the chosen rule (the day when all dates are kept) is left out. */
export function describePolicy(deid: DeidSettings, siteCode: string): PolicyDescription {
  return {
    schema: POLICY_SCHEMA,
    profile: { table: PROFILE_SOURCE.table, edition: PROFILE_SOURCE.edition, rows: rowsDigest, iodRequirements: requirementsDigest },
    options: [...enabledOptions(deid)].sort(),
    birthDate: describeBirthDateRule(deid.birthDate),
    studyDates: describeStudyDateRule(deid.studyDates),
    retainSafePrivate: deid.retainSafePrivate.enabled ? deid.retainSafePrivate.allowList.map((a) => `${a.creator} ${a.tag.toLowerCase()}`).sort() : [],
    siteCode,
  };
}

/** The policy for these settings: a few microseconds, so computed per instance rather than cached and risked stale. */
export function deidPolicy(deid: DeidSettings, siteCode = ''): DeidPolicy {
  const description = describePolicy(deid, siteCode);
  const hash = crypto.createHash('sha256').update(JSON.stringify(description)).digest('hex');
  return { hash, shortHash: hash.slice(0, 8), description };
}
