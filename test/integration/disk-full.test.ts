import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/shared/api';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { echoscu, generateMammograms, type ManifestFile } from '../support/dicom-tools';
import { backlogOf, readGatewayStore, sopUidsAt, storescuReport } from '../support/load';
import { mountSmallDisk, tmpfsUnavailable, type SmallDisk } from '../support/tmpfs';

const MB = 1024 * 1024;
const skipNote = tmpfsUnavailable ? ` (skipped: ${tmpfsUnavailable})` : '';

/** The screens' API of a running gateway process, as the Status screen calls it. */
async function apiCall<T>(gateway: GatewayProcess, method: string, input: unknown = {}): Promise<T> {
  const res = await fetch(`${gateway.uiOrigin()}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': gateway.controlToken() },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(5000),
  });
  const answer = (await res.json()) as { ok: boolean; value: T; error?: { message: string } };
  if (!answer.ok) throw new Error(`${method}: ${answer.error?.message}`);
  return answer.value;
}

/**
 * Asks C-ECHO and the API's status again and again until stopped: a gateway that livelocks or blocks its thread on
 * the disk fails some of them. Returns how many were asked and which failed.
 */
function probeThroughout(gateway: () => GatewayProcess, port: number): { stop(): Promise<{ asked: number; failures: string[] }>; statuses: StatusSnapshot[] } {
  let running = true;
  const failures: string[] = [];
  const statuses: StatusSnapshot[] = [];
  let asked = 0;
  const loop = (async () => {
    while (running) {
      asked += 1;
      const [echo, status] = await Promise.all([
        echoscu(port),
        apiCall<StatusSnapshot>(gateway(), 'getStatus').catch((e: Error) => e),
      ]);
      if (echo.code !== 0) failures.push(`C-ECHO failed: ${echo.stderr}${echo.stdout}`);
      if (status instanceof Error) failures.push(`status failed: ${status.message}`);
      else statuses.push(status);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    statuses,
    async stop() {
      running = false;
      await loop;
      return { asked, failures };
    },
  };
}

const partFiles = (dataDir: string): string[] => ['spool', 'outbox', 'quarantine'].flatMap((d) => fs.readdirSync(path.join(dataDir, d)).filter((f) => f.endsWith('.part') || f.endsWith('.tmp')));

describe.skipIf(tmpfsUnavailable !== undefined)(`disk full, end to end, on a 64 MB tmpfs data folder${skipNote}`, () => {
  let disk: SmallDisk;
  let orthanc: OrthancServer;
  let gateway: GatewayProcess | undefined;
  let port: number;
  let small: { dir: string; files: ManifestFile[] };
  let large: { dir: string; files: ManifestFile[] };
  const acknowledged = new Set<string>();
  const dataDir = (): string => path.join(disk.dir, 'data');
  const settings = (minFreeBytes: number) => ({
    intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
    destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    limits: { minFreeBytes },
    // The de-identified copies go once uploaded: this disk is small.
    retention: { spoolHours: 0, outboxHours: 0 },
  });
  const restart = async (minFreeBytes: number, key?: string): Promise<void> => {
    const databaseKey = key ?? gateway?.databaseKey;
    if (gateway) expect(await gateway.stop()).toBe(0);
    gateway = await startGateway(settings(minFreeBytes), { dataDir: dataDir(), databaseKey });
  };
  const smallFile = (i: number): string => path.join(small.dir, small.files[i]!.file);
  const largeFile = (): string => path.join(large.dir, large.files[0]!.file);
  const send = async (files: string[]) => {
    // -nh: go on after a refusal, as a modality sends the rest of a study.
    const report = await storescuReport(port, files, { extra: ['-nh'] });
    for (const f of report.acknowledged) acknowledged.add(path.resolve(f));
    return report;
  };

  beforeAll(async () => {
    disk = mountSmallDisk(64 * MB);
    [orthanc, small, large, port] = await Promise.all([
      startOrthanc(),
      generateMammograms(['--patients', '2', '--studies-per-patient', '2', '--views', '2', '--rows', '64', '--cols', '64', '--seed', '515', '--no-verify']),
      generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--size-mb', '30', '--seed', '516', '--no-verify']),
      freePort(),
    ]);
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    disk?.remove();
  });

  it('with a 16 MB free-space floor: a 30 MB instance started above the floor is refused (0xA700) when it reaches it; C-ECHO and the API answer throughout; no .part left', async () => {
    gateway = await startGateway(settings(16 * MB), { dataDir: dataDir() });
    disk.fill(30 * MB, 'filler-1.bin');
    const probes = probeThroughout(() => gateway!, port);
    const report = await send([smallFile(0), largeFile(), smallFile(1)]);
    const { asked, failures } = await probes.stop();
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThan(0);
    expect(report.acknowledged.sort(), report.output).toEqual([smallFile(0), smallFile(1)].sort());
    expect(report.statuses.get(largeFile())).toMatch(/OutOfResources/i);
    expect(gateway.output()).toMatch(/disk nearly full .* while the instance was arriving/);
    expect(partFiles(dataDir())).toEqual([]);
  });

  it('without a floor: the same instance runs the disk out and is refused (0xA700, never 0x0110); its partial file is gone at once', async () => {
    await restart(0);
    disk.fill(20 * MB, 'filler-2.bin');
    const probes = probeThroughout(() => gateway!, port);
    const report = await send([smallFile(2), largeFile(), smallFile(3)]);
    const { failures } = await probes.stop();
    expect(failures).toEqual([]);
    expect(report.acknowledged).toHaveLength(2);
    expect(report.statuses.get(largeFile())).toMatch(/OutOfResources/i);
    expect(report.output).not.toMatch(/ProcessingFailure|0x0110/i);
    expect(partFiles(dataDir())).toEqual([]);
  });

  it('a database that cannot write backs off (no livelock: C-ECHO and Status answer, a few log lines), shows on Status, and the backlog drains once space returns', async () => {
    // What the earlier cases sent is delivered first (de-identification and screening of 30 MB images take a while).
    await waitFor('the earlier instances delivered', () => (backlogOf(readGatewayStore(dataDir(), gateway!.databaseKey).counts) === 0 ? true : undefined), 90_000, 100);
    // Acknowledged, de-identified, and waiting for a research server that is away.
    await orthanc.stop('SIGKILL');
    const before = await send([smallFile(4), smallFile(5)]);
    expect(before.acknowledged).toHaveLength(2);
    await waitFor('both waiting to be uploaded', () => (readGatewayStore(dataDir(), gateway!.databaseKey).counts.deidentified === 2 ? true : undefined), 30_000, 100);
    disk.fill(0, 'filler-3.bin');
    const logBefore = gateway!.output().length;
    const probes = probeThroughout(() => gateway!, port);
    await orthanc.restart();
    // The next upload attempt cannot record itself: the pipeline pauses, says so on Status, and retries with a delay.
    await waitFor('the storage problem on Status', () => (probes.statuses.some((s) => s.storage) ? true : undefined), 60_000, 100);
    const refusedWhileFull = await send([smallFile(6)]);
    expect(refusedWhileFull.statuses.get(smallFile(6))).toMatch(/OutOfResources/i);
    // Some seconds of the paused state: with a retry loop this would be thousands of lines.
    const seen = probes.statuses.length;
    await waitFor('a few more status answers while paused', () => (probes.statuses.length >= seen + 10 ? true : undefined), 60_000, 100);
    const pausedLog = gateway!.output().slice(logBefore);
    expect((pausedLog.match(/storage refuses writes/g) ?? []).length).toBeGreaterThan(0);
    expect((pausedLog.match(/storage refuses writes/g) ?? []).length).toBeLessThan(12);
    expect(pausedLog.length).toBeLessThan(20_000);
    const storage = probes.statuses.find((s) => s.storage)!.storage!;
    expect(storage.problem).toMatch(/cannot take writes/);

    fs.rmSync(path.join(disk.dir, 'filler-3.bin'));
    const spaceBack = Date.now();
    await waitFor('backlog empty', () => (backlogOf(readGatewayStore(dataDir(), gateway!.databaseKey).counts) === 0 ? true : undefined), 90_000, 50);
    const drainMs = Date.now() - spaceBack;
    const { failures } = await probes.stop();
    console.log(`disk full: space back to backlog empty took ${drainMs} ms (2 instances waiting; Status said: ${storage.problem})`);
    expect(failures).toEqual([]);
    await waitFor('no storage problem on Status', async () => ((await apiCall<StatusSnapshot>(gateway!, 'getStatus')).storage === undefined ? true : undefined), 30_000, 200);
    expect(gateway!.output()).toMatch(/storage takes writes again/);
  });

  it('a restart on a disk a crash left full (a partial receive) works: the partial file goes before the database writes', async () => {
    expect(await gateway!.stop()).toBe(0);
    const key = gateway!.databaseKey;
    gateway = undefined;
    // What a crash in the middle of a large receive leaves: its .part file, taking the last byte of the disk.
    disk.fill(0, path.join('data', 'spool', 'crashed-receive.dcm.part'));
    expect(disk.free()).toBeLessThan(64 * 1024);
    await restart(0, key);
    expect(gateway!.output()).toMatch(/removed 1 file\(s\) of writes cut short/);
    expect(partFiles(dataDir())).toEqual([]);
    const after = await send([smallFile(6), smallFile(7)]);
    expect(after.acknowledged).toHaveLength(2);

    // Every instance ever acknowledged is at the research server, once.
    await waitFor('all acknowledged instances delivered', () => {
      const s = readGatewayStore(dataDir(), gateway!.databaseKey);
      return backlogOf(s.counts) === 0 && s.counts.uploaded === acknowledged.size ? true : undefined;
    }, 90_000, 100);
    const store = readGatewayStore(dataDir(), gateway!.databaseKey);
    const at = await sopUidsAt(orthanc);
    const byFile = new Map([...small.files.map((f) => [path.resolve(small.dir, f.file), f.sopInstanceUID] as const), ...large.files.map((f) => [path.resolve(large.dir, f.file), f.sopInstanceUID] as const)]);
    for (const file of acknowledged) expect(at.get(store.uidMap.get(byFile.get(file)!) ?? ''), file).toBe(1);
    expect(at.size).toBe(acknowledged.size);
    expect(store.counts.held).toBe(0);
    expect(store.counts.failed).toBe(0);
    expect(partFiles(dataDir())).toEqual([]);
  });
});
