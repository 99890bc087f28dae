import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms, storescu, type ManifestFile } from '../support/dicom-tools';

const filesIn = (dir: string): string[] => fs.readdirSync(dir);

describe('retention: spool originals and outbox files kept after upload for the configured time', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let mammograms: { dir: string; files: ManifestFile[] };
  let port: number;
  // 0.002 h = 7.2 s for spool originals; a day for outbox files.
  const settings = () => ({
    intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
    destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    retention: { spoolHours: 0.002, outboxHours: 24 },
  });

  beforeAll(async () => {
    [orthanc, mammograms, port] = await Promise.all([startOrthanc(), generateMammograms(), freePort()]);
    gateway = await startGateway(settings());
  });
  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
  });

  it('keeps both files after upload, deletes the spool original when its time is up, and keeps the outbox file across a restart', async () => {
    const sent = mammograms.files.slice(0, 2).map((f) => path.join(mammograms.dir, f.file));
    await storescu(port, sent);
    await waitFor('both instances at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length === 2 ? true : undefined), 60_000, 100);
    const uploadedAt = Date.now();
    const spool = path.join(gateway.dataDir, 'spool');
    const outbox = path.join(gateway.dataDir, 'outbox');
    expect(filesIn(spool)).toHaveLength(2);
    expect(filesIn(outbox)).toHaveLength(2);

    await waitFor('spool originals deleted', () => (filesIn(spool).length === 0 ? true : undefined), 30_000, 200);
    expect(Date.now() - uploadedAt).toBeGreaterThan(4_000);
    expect(filesIn(outbox)).toHaveLength(2);
    expect(gateway.output()).toMatch(/retention: deleted 1 file\(s\)|retention: deleted 2 file\(s\)/);

    // A restart must not take kept outbox files for leftovers of a crash.
    expect(await gateway.stop()).toBe(0);
    gateway = await startGateway(settings(), { dataDir: gateway.dataDir, databaseKey: gateway.databaseKey });
    expect(filesIn(outbox)).toHaveLength(2);
    expect(filesIn(spool)).toHaveLength(0);
  });
});
