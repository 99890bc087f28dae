import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { backlogOf, readGatewayStore, sopUidsAt } from '../support/load';
import { makeImportArchive, type ImportArchive } from '../support/import-archive';
import { generateMammograms, storescu } from '../support/dicom-tools';
import type { ImportProgress } from '../../src/shared/import';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SMALL = ['--rows', '64', '--cols', '64', '--no-verify'];

/** Calls the running gateway's API as the screens do (POST /api/<method> with the token). */
async function call<T>(gateway: GatewayProcess, method: string, input: unknown): Promise<T> {
  const res = await fetch(`${gateway.uiOrigin()}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': gateway.controlToken() },
    body: JSON.stringify(input),
  });
  const result = (await res.json()) as { ok: true; value: T } | { ok: false; error: { message: string } };
  if (!result.ok) throw new Error(`${method}: ${result.error.message}`);
  return result.value;
}

const statusOf = async (gateway: GatewayProcess, importId: number): Promise<ImportProgress> =>
  (await call<{ imports: ImportProgress[] }>(gateway, 'importStatus', { importId })).imports[0]!;

async function importDone(gateway: GatewayProcess, importId: number, timeoutMs = 120_000): Promise<ImportProgress> {
  return waitFor(`import ${importId} done`, async () => {
    const p = await statusOf(gateway, importId);
    return p.state === 'done' ? p : undefined;
  }, timeoutMs, 200).catch((error: Error) => {
    throw new Error(`${error.message}\n--- gateway output (tail) ---\n${gateway.output().slice(-4000)}`);
  });
}

/** Waits for the pipeline to deliver `expected` instances; returns copies at Orthanc per original SOP Instance UID. */
async function delivered(gateway: GatewayProcess, orthanc: OrthancServer, originals: string[]) {
  await waitFor('backlog to drain', async () => {
    const { counts } = readGatewayStore(gateway.dataDir, gateway.databaseKey);
    if (backlogOf(counts) > 0) return undefined;
    return (await orthanc.api<string[]>('/instances')).length >= originals.length ? true : undefined;
  }, 120_000, 200);
  const store = readGatewayStore(gateway.dataDir, gateway.databaseKey);
  const atOrthanc = await sopUidsAt(orthanc);
  const copies = originals.map((o) => atOrthanc.get(store.uidMap.get(o) ?? '') ?? 0);
  const total = [...atOrthanc.values()].reduce((a, b) => a + b, 0);
  return { copies, total, store };
}

const settingsFor = (port: number, orthanc: OrthancServer, extra: Record<string, unknown> = {}) => ({
  intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
  destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password, concurrency: 2 },
  ...extra,
});

describe('import of a folder, a disk or a DICOMDIR into a gateway delivering to a real Orthanc', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  const archives: ImportArchive[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    for (const a of archives) fs.rmSync(a.root, { recursive: true, force: true });
  });

  it('imports the archive through the API once; a second import (CLI) and a DICOMDIR import deliver nothing new and say so', async () => {
    const [orthanc, archive, port] = await Promise.all([startOrthanc(), makeImportArchive(['--patients', '3', '--studies-per-patient', '2', '--views', '2', '--seed', '2101', ...SMALL]), freePort()]);
    archives.push(archive);
    cleanup.push(() => orthanc.stop());
    const gateway = await startGateway(settingsFor(port, orthanc));
    cleanup.push(() => gateway.stop());
    // The same instance twice in the archive (a copy kept in another folder): imported once.
    fs.mkdirSync(path.join(archive.root, 'copy of a disk'));
    fs.copyFileSync(archive.dicomdirFiles[3]!, path.join(archive.root, 'copy of a disk', 'same instance.dcm'));
    const before = fs.readdirSync(archive.root, { recursive: true }).length;
    const sizeOf = (f: string): number => fs.statSync(f).size;
    const originalSizes = archive.dicomdirFiles.map(sizeOf);

    const started = await call<ImportProgress>(gateway, 'startImport', { path: archive.root });
    expect(started.state).toBe('running');
    const first = await importDone(gateway, started.importId);
    // 12 instances, one of them twice, and 4 files that are not DICOM; the DICOMDIR itself is not counted as found.
    expect(first).toMatchObject({ found: 17, queued: 12, notDicom: 4, failed: 0, waiting: 0 });
    // The second copy met the first in the pipeline or already delivered, depending on timing: skipped either way.
    expect(first.alreadyDelivered + first.alreadyReceived).toBe(1);
    const { copies, total, store } = await delivered(gateway, orthanc, archive.sopInstanceUids);
    expect(copies).toEqual(archive.sopInstanceUids.map(() => 1));
    expect(total).toBe(12);
    expect(store.counts.uploaded).toBe(12);
    // The originals are read only: the same files, the same sizes.
    expect(fs.readdirSync(archive.root, { recursive: true }).length).toBe(before);
    expect(archive.dicomdirFiles.map(sizeOf)).toEqual(originalSizes);

    // The same folder again, from the command line (address and token from a file only the gateway's user may read).
    expect(fs.statSync(path.join(gateway.dataDir, 'api-endpoint.json')).mode & 0o777).toBe(0o600);
    const cli = await run(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'src/main/headless/import-cli.ts'), archive.root, '--data-dir', gateway.dataDir], { allowFailure: true });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/import 2 done: found 17, queued 0, already delivered 13, already received 0, not DICOM 4, failed 0, waiting 0/);

    // The DICOMDIR on its own: only the files its records name.
    const viaDicomdir = await call<ImportProgress>(gateway, 'startImport', { path: archive.dicomdir });
    expect(await importDone(gateway, viaDicomdir.importId)).toMatchObject({ found: archive.dicomdirFiles.length, queued: 0, alreadyDelivered: archive.dicomdirFiles.length, notDicom: 0, failed: 0 });
    expect((await orthanc.api<string[]>('/instances')).length).toBe(12);
    expect(readGatewayStore(gateway.dataDir, gateway.databaseKey).rows.length).toBe(12);

    // What the gateway will not import: its own data folder, a path that is not there, a relative path.
    await expect(call(gateway, 'startImport', { path: gateway.dataDir })).rejects.toThrow(/own data folder/);
    await expect(call(gateway, 'startImport', { path: path.join(archive.root, 'no such folder') })).rejects.toThrow(/Nothing is there/);
    await expect(call(gateway, 'startImport', { path: 'relative/folder' })).rejects.toThrow(/full path/);
  }, 300_000);

  it('SIGKILL mid-import, restart on the same data: the import goes on where it was, a modality is served meanwhile, every instance arrives once', async () => {
    const [orthanc, archive, port, live] = await Promise.all([
      startOrthanc(),
      makeImportArchive(['--patients', '5', '--studies-per-patient', '2', '--views', '3', '--seed', '2102', '--rows', '256', '--cols', '200', '--no-verify']),
      freePort(),
      generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--seed', '2104', ...SMALL]),
    ]);
    archives.push(archive);
    cleanup.push(async () => fs.rmSync(live.dir, { recursive: true, force: true }));
    cleanup.push(() => orthanc.stop());
    const limitMb = 0.5;
    const settings = settingsFor(port, orthanc, { import: { maxMegabytesPerSecond: limitMb, concurrency: 2 } });
    let gateway = await startGateway(settings);
    const { dataDir, databaseKey } = gateway;
    const started = await call<ImportProgress>(gateway, 'startImport', { path: archive.root });
    const t0 = Date.now();
    const atKill = await waitFor('some instances queued', async () => {
      const p = await statusOf(gateway, started.importId);
      return p.queued >= 8 ? p : undefined;
    }, 120_000, 50);
    expect(atKill.waiting).toBeGreaterThan(0);
    await gateway.kill();

    gateway = await startGateway(settings, { dataDir, databaseKey });
    cleanup.push(() => gateway.stop());
    // A modality sends while the resumed import runs: it is acknowledged (its time printed, not asserted).
    expect((await statusOf(gateway, started.importId)).state).toBe('running');
    const sentAt = Date.now();
    const store = await storescu(port, [path.join(live.dir, live.files[0]!.file)]);
    const ackMs = Date.now() - sentAt;
    expect(store.code).toBe(0);
    const midway = await statusOf(gateway, started.importId);
    const done = await importDone(gateway, started.importId, 180_000);
    const elapsedS = (Date.now() - t0) / 1000;
    expect(done).toMatchObject({ found: 34, queued: 30, alreadyDelivered: 0, alreadyReceived: 0, notDicom: 4, failed: 0, waiting: 0 });
    const originals = [...archive.sopInstanceUids, live.files[0]!.sopInstanceUID];
    const { copies, total } = await delivered(gateway, orthanc, originals);
    expect(copies).toEqual(originals.map(() => 1));
    expect(total).toBe(31);
    console.log(`modality C-STORE during the import: storescu run (association, one instance, release) took ${ackMs} ms`);
    // Figures, not assertions (timing on a shared machine): the rate the import kept against its limit.
    console.log(`import throttle: limit ${limitMb} MB/s; the gateway's rate meter read ${(midway.bytesPerSecond / 1e6).toFixed(2)} MB/s mid-import; ${(done.bytesCopied / 1e6).toFixed(2)} MB copied over ${elapsedS.toFixed(1)} s including a kill and restart (${(done.bytesCopied / 1e6 / elapsedS).toFixed(2)} MB/s overall)`);
  }, 400_000);
});
