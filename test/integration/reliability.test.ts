import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms } from '../support/dicom-tools';
import { backlogOf, readGatewayStore, sopUidsAt, storescuConcurrently } from '../support/load';
import type { InstanceCounts } from '../../src/shared/domain';

/** 10 patients × 5 studies × 4 views = 200 small instances per scenario, each scenario with its own seed (own UIDs). */
const LOAD_ARGS = ['--patients', '10', '--studies-per-patient', '5', '--views', '4', '--rows', '64', '--cols', '64', '--no-verify'];

interface Figures {
  scenario: string;
  sent: number;
  acknowledged: number;
  delivered: number;
  duplicates: number;
  restartToEmptyMs?: number;
  note?: string;
}
const figures: Figures[] = [];

/** Every original SOP Instance UID, looked up through the crosswalk: how many copies the research Orthanc holds. */
async function deliveryOf(orthanc: OrthancServer, gateway: { dataDir: string; databaseKey: string }, originals: string[]) {
  const store = readGatewayStore(gateway.dataDir, gateway.databaseKey);
  const atOrthanc = await sopUidsAt(orthanc);
  const copies = originals.map((o) => atOrthanc.get(store.uidMap.get(o) ?? '') ?? 0);
  const orthancTotal = [...atOrthanc.values()].reduce((a, b) => a + b, 0);
  return {
    store,
    delivered: copies.filter((n) => n >= 1).length,
    // A second copy of an original (same or other UID) or an Orthanc instance that is no original's: both count.
    duplicates: copies.reduce((a, n) => a + Math.max(0, n - 1), 0) + (orthancTotal - copies.reduce((a, n) => a + n, 0)),
  };
}

async function waitForEmptyBacklog(gateway: GatewayProcess, orthanc: OrthancServer, expected: number, timeoutMs = 120_000): Promise<InstanceCounts> {
  return waitFor('backlog to drain', async () => {
    const { counts } = readGatewayStore(gateway.dataDir, gateway.databaseKey);
    if (backlogOf(counts) > 0) return undefined;
    const total = (await orthanc.api<string[]>('/instances')).length;
    return total >= expected ? counts : undefined;
  }, timeoutMs, 200).catch((error: Error) => {
    throw new Error(`${error.message}\n--- gateway output (tail) ---\n${gateway.output().slice(-4000)}`);
  });
}

const settingsFor = (port: number, orthanc: OrthancServer) => ({
  intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
  destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password, concurrency: 2 },
});

describe('reliability: every acknowledged instance reaches the research Orthanc exactly once', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    console.log('reliability figures:');
    for (const f of figures) console.log(`  ${JSON.stringify(f)}`);
  });

  it('load: 4 concurrent associations send 200 instances; all acknowledged, all delivered once, the job store agrees', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...LOAD_ARGS, '--seed', '101']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const gateway = await startGateway(settingsFor(port, orthanc));
    cleanup.push(() => gateway.stop());
    const files = set.files.map((f) => path.join(set.dir, f.file));
    expect(files.length).toBe(200);

    const reports = await storescuConcurrently(port, files, 4);
    const acknowledged = reports.flatMap((r) => r.acknowledged);
    expect(acknowledged.length).toBe(200);
    const counts = await waitForEmptyBacklog(gateway, orthanc, 200);
    const { delivered, duplicates, store } = await deliveryOf(orthanc, gateway, set.files.map((f) => f.sopInstanceUID));
    figures.push({ scenario: 'load', sent: 200, acknowledged: acknowledged.length, delivered, duplicates });
    expect(delivered).toBe(200);
    expect(duplicates).toBe(0);
    expect(counts.uploaded).toBe(200);
    expect(store.rows.length).toBe(200);
  });

  it('crash: SIGKILL during receive, de-identification and upload, restart on the same data; acknowledged instances arrive exactly once', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...LOAD_ARGS, '--seed', '202']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const settings = settingsFor(port, orthanc);
    let gateway = await startGateway(settings);
    const { dataDir, databaseKey } = gateway;
    const files = set.files.map((f) => path.join(set.dir, f.file));
    const acknowledged = new Set<string>();
    const atKill: Array<{ phase: string; counts: InstanceCounts }> = [];
    const kill = async (phase: string): Promise<void> => {
      await gateway.kill();
      atKill.push({ phase, counts: readGatewayStore(dataDir, databaseKey).counts });
    };
    const restart = async (): Promise<void> => {
      gateway = await startGateway(settings, { dataDir, databaseKey });
    };

    // 1. During receive: kill while the four associations are still sending.
    const sending = storescuConcurrently(port, files, 4);
    await waitFor('some instances received', () => (readGatewayStore(dataDir, databaseKey).rows.length >= 40 ? true : undefined), 60_000, 50);
    await kill('receive');
    for (const r of await sending) r.acknowledged.forEach((f) => acknowledged.add(f));
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(acknowledged.size).toBeLessThan(200);

    // 2. During de-identification: the restarted gateway works through the spool; kill at its first de-identified instance.
    await restart();
    const resending = storescuConcurrently(port, files.filter((f) => !acknowledged.has(f)), 2);
    await waitFor('de-identification under way', () => (/de-identified/.test(gateway.output()) ? true : undefined), 60_000, 20);
    await kill('de-identification');
    for (const r of await resending) r.acknowledged.forEach((f) => acknowledged.add(f));

    // 3. During upload: the restarted gateway takes the rest (so there is always something to upload, however far
    // the last run got); kill at its first upload.
    await restart();
    const sendingRest = storescuConcurrently(port, files.filter((f) => !acknowledged.has(f)), 2);
    await waitFor('uploads under way', () => (/uploaded/.test(gateway.output()) ? true : undefined), 60_000, 20);
    await kill('upload');
    for (const r of await sendingRest) r.acknowledged.forEach((f) => acknowledged.add(f));

    // The sender retries whatever was not acknowledged (what a modality does); then everything must drain.
    await restart();
    const restartedAt = Date.now();
    for (const r of await storescuConcurrently(port, files.filter((f) => !acknowledged.has(f)), 4)) r.acknowledged.forEach((f) => acknowledged.add(f));
    cleanup.push(() => gateway.stop());
    expect(acknowledged.size).toBe(200);
    const counts = await waitForEmptyBacklog(gateway, orthanc, 200);
    const restartToEmptyMs = Date.now() - restartedAt;

    const { delivered, duplicates, store } = await deliveryOf(orthanc, gateway, set.files.map((f) => f.sopInstanceUID));
    const reReceived = store.rows.length - new Set(store.rows.map((r) => r.sop_instance_uid)).size;
    figures.push({
      scenario: 'crash',
      sent: 200,
      acknowledged: acknowledged.size,
      delivered,
      duplicates,
      restartToEmptyMs,
      note: `states at each kill: ${atKill.map((k) => `${k.phase} ${JSON.stringify(k.counts)}`).join('; ')}; instances received twice (ack lost in a crash): ${reReceived}`,
    });
    // Each kill found work in the phase it was aimed at.
    expect(atKill[0]!.counts.received + atKill[0]!.counts.deidentified + atKill[0]!.counts.uploading).toBeGreaterThan(0);
    expect(delivered).toBe(200);
    expect(duplicates).toBe(0);
    // The job store agrees: nothing pending or failed, every original uploaded.
    expect(backlogOf(counts) + counts.failed + counts.held).toBe(0);
    const uploadedOriginals = new Set(store.rows.filter((r) => r.state === 'uploaded').map((r) => r.sop_instance_uid));
    expect(uploadedOriginals.size).toBe(200);
  });

  it('research server down mid-load and back: nothing lost, the backlog drains, no duplicates', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...LOAD_ARGS, '--seed', '303']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const gateway = await startGateway(settingsFor(port, orthanc));
    cleanup.push(() => gateway.stop());
    const files = set.files.map((f) => path.join(set.dir, f.file));

    const sending = storescuConcurrently(port, files, 4);
    await waitFor('first uploads', async () => ((await orthanc.api<string[]>('/instances')).length >= 20 ? true : undefined), 60_000, 50);
    await orthanc.stop('SIGKILL');
    const reports = await sending;
    const acknowledged = reports.flatMap((r) => r.acknowledged).length;
    // Intake does not depend on the research server: everything is acknowledged while it is away.
    expect(acknowledged).toBe(200);
    await waitFor('retries while the server is away', () => (/will be retried/.test(gateway.output()) ? true : undefined), 30_000, 100).catch((e: Error) => { throw new Error(`${e.message}\n${gateway.output().slice(-4000)}`); });
    await new Promise((r) => setTimeout(r, 4000));
    await orthanc.restart();
    const restartedAt = Date.now();
    await waitForEmptyBacklog(gateway, orthanc, 200);
    const restartToEmptyMs = Date.now() - restartedAt;
    const { delivered, duplicates } = await deliveryOf(orthanc, gateway, set.files.map((f) => f.sopInstanceUID));
    figures.push({ scenario: 'research server down', sent: 200, acknowledged, delivered, duplicates, restartToEmptyMs });
    expect(delivered).toBe(200);
    expect(duplicates).toBe(0);
  });
});
