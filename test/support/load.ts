import path from 'node:path';
import { run } from './processes';
import { openDatabase } from '../../src/main/core/store';
import type { OrthancServer } from './orthanc';
import type { InstanceCounts } from '../../src/shared/domain';

export interface StoreReport {
  /** Files the gateway answered with C-STORE success: the sender may forget them. */
  acknowledged: string[];
  /** Files answered with another status, or never answered (association cut). */
  notAcknowledged: string[];
  /** Status text per refused file, as storescu printed it. */
  statuses: Map<string, string>;
  code: number;
  output: string;
}

/** storescu -v, parsed: which files the gateway acknowledged (what a real sender would know after a crash). */
export async function storescuReport(port: number, files: string[], options: { calledAe?: string; extra?: string[] } = {}): Promise<StoreReport> {
  const { code, stdout, stderr } = await run('storescu', ['-v', '-aec', options.calledAe ?? 'DEID_GW', '-aet', 'MAMMO_UNIT', ...(options.extra ?? []), '127.0.0.1', String(port), ...files], { allowFailure: true });
  const output = stdout + stderr;
  const acknowledged = new Set<string>();
  const statuses = new Map<string, string>();
  let current: string | undefined;
  for (const line of output.split('\n')) {
    const sending = /Sending file: (.+)$/.exec(line);
    if (sending) current = path.resolve(sending[1]!.trim());
    const answer = /Received Store Response \((.+)\)/.exec(line);
    if (answer && current) {
      if (answer[1] === 'Success') acknowledged.add(current);
      else statuses.set(current, answer[1]!);
      current = undefined;
    }
  }
  return { acknowledged: [...acknowledged], notAcknowledged: files.filter((f) => !acknowledged.has(path.resolve(f))), statuses, code, output };
}

/** `files` dealt out into `n` groups, one per association (empty groups left out). */
export function dealOut(files: string[], n: number): string[][] {
  return Array.from({ length: n }, (_, i) => files.filter((_f, j) => j % n === i)).filter((g) => g.length > 0);
}

/** Runs `n` storescu associations at once over `files` split evenly. */
export async function storescuConcurrently(port: number, files: string[], n: number): Promise<StoreReport[]> {
  return Promise.all(dealOut(files, n).map((g) => storescuReport(port, g)));
}

/** SOP Instance UIDs stored at Orthanc, with how many Orthanc instances carry each. */
export async function sopUidsAt(orthanc: OrthancServer): Promise<Map<string, number>> {
  const instances = await orthanc.api<Array<{ MainDicomTags: { SOPInstanceUID: string } }>>('/instances?expand');
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.MainDicomTags.SOPInstanceUID, (counts.get(i.MainDicomTags.SOPInstanceUID) ?? 0) + 1);
  return counts;
}

/** Reads the gateway's job store and crosswalk from outside (WAL lets a reader in while it runs). */
export function readGatewayStore(dataDir: string, key: string): { counts: InstanceCounts; uidMap: Map<string, string>; rows: Array<{ sop_instance_uid: string; state: string }> } {
  const db = openDatabase(path.join(dataDir, 'gateway.db'), key);
  try {
    const counts: InstanceCounts = { received: 0, deidentified: 0, uploading: 0, uploaded: 0, held: 0, failed: 0, discarded: 0 };
    for (const r of db.prepare('SELECT state, count(*) AS n FROM instances GROUP BY state').all() as Array<{ state: keyof InstanceCounts; n: number }>) counts[r.state] = r.n;
    const uidMap = new Map((db.prepare('SELECT original, replacement FROM uid_map').all() as Array<{ original: string; replacement: string }>).map((r) => [r.original, r.replacement]));
    const rows = db.prepare('SELECT sop_instance_uid, state FROM instances').all() as Array<{ sop_instance_uid: string; state: string }>;
    return { counts, uidMap, rows };
  } finally {
    db.close();
  }
}

/** Instances still on their way: received, waiting in the outbox, or being uploaded. */
export const backlogOf = (c: InstanceCounts): number => c.received + c.deidentified + c.uploading;
