import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewaySettings } from '../../src/shared/settings';
import type { HeldInstance } from '../../src/shared/api';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createDispatcher, type ApiDispatcher } from '../../src/main/core/api';
import { createLogger } from '../../src/main/core/log';
import { settingsFileStore } from '../../src/main/headless/settings-file';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms, type ManifestFile } from '../support/dicom-tools';
import { readGatewayStore, sopUidsAt, storescuReport } from '../support/load';
import { RawConnection, associate, cStoreRaw, release } from '../support/raw-scu';

const DAY = 86_400_000;

describe('quarantine under control, and resends recognised', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quarantine-'));
  const dataDir = path.join(dir, 'data');
  const databaseKey = crypto.randomBytes(32).toString('hex');
  const logLines: string[] = [];
  let orthanc: OrthancServer;
  let gateway: Gateway;
  let dispatcher: ApiDispatcher;
  let port: number;
  let set: { dir: string; files: ManifestFile[] };
  let raw: Record<string, unknown>;

  const value = async <T>(method: string, input: unknown = {}): Promise<T> => {
    const r = (await dispatcher.call(method, input)) as { ok: boolean; value?: T; error?: { message: string } };
    if (!r.ok) throw new Error(`${method}: ${r.error?.message}`);
    return r.value as T;
  };
  const quarantined = (): string[] => fs.readdirSync(path.join(dataDir, 'quarantine'));
  const apply = (patch: Record<string, unknown>) => gateway.applySettings(GatewaySettings.parse({ ...raw, ...patch }));

  /** One association from FLOOD_SCU sending `n` data sets that are not DICOM; the C-STORE statuses in order. */
  const flood = async (n: number, size: number): Promise<number[]> => {
    const conn = await RawConnection.open(port);
    expect((await associate(conn, 'DEID_GW')).type).toBe(0x02);
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 1) statuses.push(await cStoreRaw(conn, `1.2.826.0.1.3680043.10.77.${Date.now()}.${i}`, crypto.randomBytes(size)));
    await release(conn);
    conn.close();
    return statuses;
  };

  beforeAll(async () => {
    [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '2', '--rows', '96', '--cols', '96', '--no-verify']), freePort()]);
    raw = {
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    };
    const logger = createLogger({ sink: (line) => void logLines.push(line) });
    gateway = createGateway({ settings: GatewaySettings.parse(raw), dataDir, databaseKey, logger });
    await gateway.start();
    dispatcher = createDispatcher({ gateway, settingsStore: settingsFileStore(undefined), exportDir: path.join(dir, 'exports'), logger });
  });

  afterAll(async () => {
    dispatcher?.close();
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a flood of refused data sets stops at the spool cap (held data counts), and "discard all refused" empties the quarantine', async () => {
    // Each refused data set is about 10 KB: the cap of 100 KB holds ten of them.
    await apply({ limits: { spoolCapBytes: 100_000 }, quarantine: { refusalsPerMinute: 1000 } });
    const statuses = await flood(30, 10_000);
    const kept = statuses.filter((s) => s === 0xc000).length;
    expect(kept).toBeGreaterThanOrEqual(9);
    expect(kept).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s === 0xa700).length).toBe(30 - kept);
    expect(quarantined()).toHaveLength(kept);
    const listed = await value<{ total: number; refused: number; rows: HeldInstance[] }>('listHeld', { limit: 100 });
    expect(listed.refused).toBe(kept);
    // Each shows when retention deletes it: 7 days after it came, not yet within the warning.
    for (const r of listed.rows) {
      expect(r.refusedAtIntake).toBe(true);
      expect(Date.parse(r.expiresAt!) - Date.now()).toBeGreaterThan(7 * DAY - 60_000);
      expect(r.expiresSoon).toBe(false);
    }

    expect(await value<{ discarded: number }>('discardRefused')).toEqual({ discarded: kept });
    expect(quarantined()).toEqual([]);
    expect((await value<{ total: number }>('listHeld', { limit: 100 })).total).toBe(0);
    expect(gateway.audit().list({ limit: 5 }).map((e) => e.action)).toContain('review.discard-refused');
  });

  it('a flood from one calling AE title stops at its rate limit; another sender is still served; retention deletes what was kept', async () => {
    await apply({ quarantine: { refusalsPerMinute: 10, warnDays: 8 } });
    const statuses = await flood(40, 2_000);
    const kept = statuses.filter((s) => s === 0xc000).length;
    // Ten a minute: the flood takes seconds, so at most one more refills meanwhile.
    expect(kept).toBeGreaterThanOrEqual(10);
    expect(kept).toBeLessThanOrEqual(11);
    expect(statuses.filter((s) => s === 0xa700).length).toBe(40 - kept);
    expect(quarantined()).toHaveLength(kept);
    expect(logLines.join('\n')).toMatch(/too many refused data sets from FAULTY_SCU/);

    const good = await storescuReport(port, [path.join(set.dir, set.files[0]!.file)]);
    expect(good.acknowledged).toHaveLength(1);

    // Within the warning period (8 days before, for a 7-day retention): the Review list says so.
    const listed = await value<{ rows: HeldInstance[] }>('listHeld', { limit: 100 });
    expect(listed.rows.every((r) => r.expiresSoon === true)).toBe(true);
    expect(await gateway.expireHolds(Date.now() + 6 * DAY)).toBe(0);
    expect(await gateway.expireHolds(Date.now() + 7 * DAY + 60_000)).toBe(kept);
    expect(quarantined()).toEqual([]);
    expect(logLines.join('\n')).toMatch(new RegExp(`retention: ${kept} held instance\\(s\\) past their time on the review list deleted`));
    expect(gateway.audit().list({ limit: 5 }).map((e) => e.action)).toContain('review.expire');
  });

  it('the same instance sent three times: one job row, one outbox copy, one delivery at Orthanc', async () => {
    await apply({});
    const file = path.join(set.dir, set.files[1]!.file);
    const report = await storescuReport(port, [file, file, file]);
    expect(report.acknowledged).toHaveLength(1); // storescu reports per file path: all three answers were success
    expect(report.output.match(/Received Store Response \(Success\)/g)).toHaveLength(3);
    const uid = set.files[1]!.sopInstanceUID;
    const store = await waitFor('the instance delivered', () => {
      const s = readGatewayStore(dataDir, databaseKey);
      const rows = s.rows.filter((r) => r.sop_instance_uid === uid);
      return rows.length === 1 && rows[0]!.state === 'uploaded' ? s : undefined;
    }, 60_000, 100);
    expect(store.rows.filter((r) => r.sop_instance_uid === uid)).toHaveLength(1);
    const at = await sopUidsAt(orthanc);
    expect(at.get(store.uidMap.get(uid) ?? '')).toBe(1);
    // Outbox copies are kept a week after upload: one for this instance and one for the good one of the test before.
    expect(fs.readdirSync(path.join(dataDir, 'outbox'))).toHaveLength(2);
    expect(fs.readdirSync(path.join(dataDir, 'spool'))).toEqual([]);
    expect(logLines.join('\n').match(/received again with the same bytes \(a resend\)/g)).toHaveLength(2);
    expect(gateway.counts().uploaded).toBe(2);
  });
});
