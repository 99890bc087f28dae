import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { DEBIAN_PYTHON, echoscu, generateMammograms, type ManifestFile } from '../support/dicom-tools';
import { backlogOf, readGatewayStore, sopUidsAt, storescuReport } from '../support/load';
import { RawConnection, associate, cStoreBegin, cStoreRaw, datasetOfFile, release } from '../support/raw-scu';

const SMALL = ['--patients', '2', '--studies-per-patient', '2', '--views', '4', '--rows', '64', '--cols', '64', '--no-verify'];

/** Copies of `file` with attributes removed by pydicom (an independent writer), for the missing-UID cases. */
async function withoutAttribute(file: string, keyword: string, out: string): Promise<string> {
  const script = `import pydicom,sys\nds=pydicom.dcmread(sys.argv[1])\ndelattr(ds, sys.argv[2])\nds.save_as(sys.argv[3])`;
  await run(DEBIAN_PYTHON, ['-c', script, file, keyword, out]);
  return out;
}

describe('bad input: each gets the right DICOM answer, a log line and a review entry, while a good association completes', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let port: number;
  let set: { dir: string; files: ManifestFile[] };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));

  beforeAll(async () => {
    [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '404']), freePort()]);
    gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      limits: { idleTimeoutSeconds: 2, maxAssociations: 3, maxPduBytes: 65536 },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('answers each fault correctly and keeps serving a good association running at the same time', async () => {
    const files = set.files.map((f) => path.join(set.dir, f.file));
    const good = files.slice(0, 12);
    const spare = files.slice(12);
    const { dataset, syntax } = datasetOfFile(spare[0]!);
    const noStudy = datasetOfFile(await withoutAttribute(spare[1]!, 'StudyInstanceUID', path.join(scratch, 'no-study.dcm')));
    const noSop = datasetOfFile(await withoutAttribute(spare[2]!, 'SOPInstanceUID', path.join(scratch, 'no-sop.dcm')));
    const results: Record<string, unknown> = {};

    const faults = (async () => {
      // Garbage on the port (an HTTP request): A-ABORT, connection closed.
      const garbage = await RawConnection.open(port);
      garbage.send(Buffer.from('GET / HTTP/1.1\r\nHost: gateway\r\n\r\n'));
      results.garbage = (await garbage.nextPdu())?.type;
      results.garbageClosed = await garbage.closedWithin(5000);

      // A PDU claiming 2 GB: aborted before it is buffered.
      const huge = await RawConnection.open(port);
      huge.send(Buffer.from([0x01, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1]));
      results.oversized = (await huge.nextPdu())?.type;
      results.oversizedClosed = await huge.closedWithin(5000);

      // Wrong called AE title: association rejected, permanent, "called AE title not recognized" (7).
      const wrongAe = await RawConnection.open(port);
      results.wrongAe = await associate(wrongAe, 'NOT_THE_GW');
      wrongAe.close();

      // C-STOREs with bad data sets, one association each (a sender would give up on the association too).
      const store = async (name: string, uid: string, bytes: Buffer, ts = syntax): Promise<void> => {
        const conn = await RawConnection.open(port);
        const accepted = await associate(conn, 'DEID_GW', ts);
        if (accepted.type !== 0x02) throw new Error(`${name}: association not accepted (${JSON.stringify(accepted)})`);
        results[name] = await cStoreRaw(conn, uid, bytes);
        await release(conn);
        conn.close();
      };
      await store('nonDicom', '1.2.826.0.1.3680043.10.1.1', Buffer.from('This is a PDF report, not a DICOM data set. '.repeat(40)));
      await store('truncated', '1.2.826.0.1.3680043.10.1.2', dataset.subarray(0, Math.floor(dataset.length / 2)));
      await store('missingStudyUid', '1.2.826.0.1.3680043.10.1.3', noStudy.dataset, noStudy.syntax);
      await store('missingSopInstanceUid', '1.2.826.0.1.3680043.10.1.4', noSop.dataset, noSop.syntax);

      // A sender that drops the connection mid-instance: its partial spool file goes, no job is recorded.
      const dropped = await RawConnection.open(port);
      await associate(dropped, 'DEID_GW', syntax);
      cStoreBegin(dropped, '1.2.826.0.1.3680043.10.1.5', dataset.subarray(0, 4096));
      await waitFor('partial spool file', () => (fs.readdirSync(path.join(gateway.dataDir, 'spool')).some((f) => f.endsWith('.part')) ? true : undefined), 5000, 20);
      dropped.close();
      await waitFor('partial spool file removed', () => (fs.readdirSync(path.join(gateway.dataDir, 'spool')).some((f) => f.endsWith('.part')) ? undefined : true), 5000, 20);
      results.droppedCleaned = true;

      // An association that goes silent is aborted after the idle limit (2 s here).
      const silent = await RawConnection.open(port);
      await associate(silent, 'DEID_GW');
      const started = Date.now();
      results.idle = (await silent.nextPdu(10_000))?.type;
      results.idleAfterMs = Date.now() - started;
    })();
    const goodRun = storescuReport(port, good);
    const [report] = await Promise.all([goodRun, faults]);

    expect(results.garbage).toBe(0x07); // A-ABORT
    expect(results.garbageClosed).toBe(true);
    expect(results.oversized).toBe(0x07);
    expect(results.oversizedClosed).toBe(true);
    expect(results.wrongAe).toEqual({ type: 0x03, result: 1, source: 1, reason: 7 });
    expect(results.nonDicom).toBe(0xc000); // Error: cannot understand
    expect(results.truncated).toBe(0xc000);
    expect(results.missingStudyUid).toBe(0xa900); // Error: data set does not match SOP class
    expect(results.missingSopInstanceUid).toBe(0xa900);
    expect(results.droppedCleaned).toBe(true);
    expect(readGatewayStore(gateway.dataDir, gateway.databaseKey).rows.some((r) => r.sop_instance_uid === '1.2.826.0.1.3680043.10.1.5')).toBe(false);
    expect(results.idle).toBe(0x07);
    expect(results.idleAfterMs as number).toBeGreaterThanOrEqual(1500);
    expect(results.idleAfterMs as number).toBeLessThan(6000);

    // The good association was served in full, and its instances reached the research server.
    expect(report.acknowledged.length).toBe(good.length);
    await waitFor('good instances at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length >= good.length ? true : undefined), 60_000, 200);
    const store = readGatewayStore(gateway.dataDir, gateway.databaseKey);
    const atOrthanc = await sopUidsAt(orthanc);
    for (const f of set.files.slice(0, 12)) expect(atOrthanc.get(store.uidMap.get(f.sopInstanceUID) ?? '')).toBe(1);
    expect(atOrthanc.size).toBe(good.length);

    // The four refused data sets wait in the review list (held, file in quarantine); nothing else is held.
    expect(store.counts.held).toBe(4);
    const quarantined = fs.readdirSync(path.join(gateway.dataDir, 'quarantine'));
    expect(quarantined.length).toBe(4);
    // Each fault left a log line.
    const log = gateway.output();
    expect(log).toMatch(/association aborted .*not a DICOM PDU/);
    expect(log).toMatch(/association aborted .*exceeds the limit/);
    expect(log).toMatch(/association rejected: called AE title does not match/);
    expect(log.match(/instance refused/g)?.length).toBe(4);
    expect(log).toMatch(/association aborted .*idle for 2 s/);
  });

  it('rejects an association beyond the limit as transient "local limit exceeded", and accepts again once one ends', async () => {
    const open = await Promise.all([0, 1, 2].map(() => RawConnection.open(port)));
    for (const c of open) expect((await associate(c, 'DEID_GW')).type).toBe(0x02);
    const extra = await RawConnection.open(port);
    // Transient (2), service provider presentation (3), local limit exceeded (2).
    expect(await associate(extra, 'DEID_GW')).toEqual({ type: 0x03, result: 2, source: 3, reason: 2 });
    extra.close();
    await release(open[0]!);
    open.forEach((c) => c.close());
    await waitFor('associations closed', async () => ((await echoscu(port)).code === 0 ? true : undefined), 10_000, 200);
  });

  it('answers a failure when the spool cannot take a file (folder gone, or not a folder), and stores again once it can', async () => {
    const spool = path.join(gateway.dataDir, 'spool');
    const file = path.join(set.dir, set.files[15]!.file);
    const answerTo = async (): Promise<string[]> => {
      const report = await storescuReport(port, [file]);
      expect(report.acknowledged, report.output).toEqual([]);
      return [...report.statuses.values()];
    };
    fs.rmSync(spool, { recursive: true, force: true });
    try {
      // The free-space check cannot be made: refused as out of resources, the association goes on.
      expect(await answerTo()).toEqual([expect.stringMatching(/Out ?Of ?Resources/i)]);
      expect(gateway.output()).toMatch(/instance refused .*0xa700.*spool folder cannot be written: ENOENT/);
      // The check passes but the spool file cannot be created in it.
      fs.writeFileSync(spool, '');
      expect(await answerTo()).toEqual([expect.stringMatching(/Processing ?Failure|0x0?110/i)]);
      expect(gateway.output()).toMatch(/instance could not be stored .*ENOTDIR/);
    } finally {
      fs.rmSync(spool, { force: true });
      fs.mkdirSync(spool, { mode: 0o700 });
    }
    const stored = await storescuReport(port, [file]);
    expect(stored.acknowledged).toEqual([path.resolve(file)]);
  });
});

describe('disk-full: a small spool cap answers 0xA700 and accepts again after the backlog drains', () => {
  it('refuses with Out of Resources at the cap, then accepts and delivers everything once', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--studies-per-patient', '3', '--seed', '505']), freePort()]);
    // The research server is away, so the backlog builds up in the spool.
    await orthanc.stop();
    const fileSize = fs.statSync(path.join(set.dir, set.files[0]!.file)).size;
    const gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      limits: { spoolCapBytes: fileSize * 8, minFreeBytes: 0 },
    });
    try {
      const files = set.files.map((f) => path.join(set.dir, f.file));
      const first = await storescuReport(port, files);
      expect(first.acknowledged.length).toBeGreaterThanOrEqual(8);
      expect(first.acknowledged.length).toBeLessThan(files.length);
      const refusedStatuses = new Set(first.statuses.values());
      expect([...refusedStatuses]).toEqual([expect.stringMatching(/Out ?Of ?Resources/i)]);
      expect(gateway.output()).toMatch(/instance refused .*0xa700.*spool full/);

      await orthanc.restart();
      await waitFor('backlog drained', () => (backlogOf(readGatewayStore(gateway.dataDir, gateway.databaseKey).counts) === 0 ? true : undefined), 90_000, 200);
      const second = await storescuReport(port, first.notAcknowledged);
      expect(second.acknowledged.length).toBe(first.notAcknowledged.length);
      await waitFor('everything at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length >= files.length ? true : undefined), 90_000, 200);
      const store = readGatewayStore(gateway.dataDir, gateway.databaseKey);
      const atOrthanc = await sopUidsAt(orthanc);
      for (const f of set.files) expect(atOrthanc.get(store.uidMap.get(f.sopInstanceUID) ?? '')).toBe(1);
      expect(atOrthanc.size).toBe(files.length);
      console.log(`disk-full figures: ${JSON.stringify({ sent: files.length, refusedFirst: first.notAcknowledged.length, acknowledged: first.acknowledged.length + second.acknowledged.length, delivered: atOrthanc.size })}`);
    } finally {
      await gateway.stop();
      await orthanc.stop();
    }
  });

  it('refuses with Out of Resources when the disk has less free space than the floor', async () => {
    const [set, port] = await Promise.all([generateMammograms([...SMALL, '--patients', '1', '--studies-per-patient', '1', '--views', '1', '--seed', '515']), freePort()]);
    // A floor no disk meets: every C-STORE is refused, the association itself still works.
    const gateway = await startGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] }, limits: { minFreeBytes: 1e15 } });
    try {
      const report = await storescuReport(port, set.files.map((f) => path.join(set.dir, f.file)));
      expect(report.acknowledged).toEqual([]);
      expect([...report.statuses.values()]).toEqual([expect.stringMatching(/Out ?Of ?Resources/i)]);
      expect(gateway.output()).toMatch(/instance refused .*0xa700.*disk nearly full/);
      expect(readGatewayStore(gateway.dataDir, gateway.databaseKey).rows).toEqual([]);
    } finally {
      await gateway.stop();
    }
  });
});
