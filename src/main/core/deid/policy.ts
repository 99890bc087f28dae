import crypto from 'node:crypto';
import type { DeidSettings } from '../../../shared/settings';
import { PROFILE_SOURCE, SUPPLEMENT_SOURCE, profileRows } from './profile';
import { enabledOptions } from './deidentify';

/** Bumped when the engine changes what it writes for the same settings and table (a new rule, a fixed defect). */
export const POLICY_SCHEMA = 1;

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
  profile: { table: string; tableRetrieved: string; supplement: string; rows: string };
  options: string[];
  birthDate: string;
  studyDates: string;
  retainSafePrivate: string[];
  siteCode: string;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

// The table's content, not only its name: an edited row changes the policy even if no one renamed the file.
const rowsDigest = crypto.createHash('sha256').update(JSON.stringify(profileRows)).digest('hex').slice(0, 16);

/** Describes only what each rule does: a setting that is ignored under the chosen rule (the day when all dates are kept) is left out. */
export function describePolicy(deid: DeidSettings, siteCode: string): PolicyDescription {
  const b = deid.birthDate;
  const d = deid.studyDates;
  const studyDates =
    d.keep === 'all' ? 'kept' : d.keep === 'month' ? `YYYYMM${pad2(d.day)}` : d.keep === 'year' ? `YYYY${pad2(d.month)}${pad2(d.day)}` : `shift within ±${d.maxShiftDays} days`;
  return {
    schema: POLICY_SCHEMA,
    profile: { table: 'PS3.15 E.1-1', tableRetrieved: PROFILE_SOURCE.retrieved, supplement: SUPPLEMENT_SOURCE.edition, rows: rowsDigest },
    options: [...enabledOptions(deid)].sort(),
    birthDate: b.keep === 'month' ? `YYYYMM${pad2(b.day)}` : `YYYY${pad2(b.month)}${pad2(b.day)}`,
    studyDates,
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
