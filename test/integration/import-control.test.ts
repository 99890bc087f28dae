import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { GatewaySettings } from '../../src/shared/settings';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { makeImportArchive, type ImportArchive } from '../support/import-archive';

/** Pause, cancel and stop, in process (no destination: instances wait in the outbox, which is all this needs). */
describe('import control: pause, cancel and a stop mid-copy survive a restart', () => {
  const dirs: string[] = [];
  let archive: ImportArchive;
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    if (archive) fs.rmSync(archive.root, { recursive: true, force: true });
  });

  it('a paused import stays paused across a restart; a cancelled one stays cancelled and is not resumed; what was queued is consistent', async () => {
    archive = await makeImportArchive(['--patients', '5', '--studies-per-patient', '2', '--views', '3', '--seed', '2105', '--rows', '256', '--cols', '200', '--no-verify']);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-control-'));
    dirs.push(dataDir);
    const databaseKey = crypto.randomBytes(32).toString('hex');
    // Slow enough that the imports are still going when they are paused, cancelled and stopped.
    const settings = GatewaySettings.parse({ intake: { port: await freePort() }, import: { maxMegabytesPerSecond: 0.2, concurrency: 1 } });
    const open = async (): Promise<Gateway> => {
      const g = createGateway({ settings, dataDir, databaseKey, logger: createLogger({ sink: () => undefined }) });
      await g.start();
      return g;
    };
    let gateway = await open();
    const paused = await gateway.imports().begin(archive.root);
    await waitFor('a first instance queued', () => (gateway.imports().progress(paused.importId).queued >= 1 ? true : undefined), 60_000, 50);
    expect(gateway.imports().pause(paused.importId).state).toBe('paused');
    const cancelled = await gateway.imports().begin(path.join(archive.root, 'clinic server'));
    expect(gateway.imports().cancel(cancelled.importId).state).toBe('cancelled');
    // A stop while a throttled copy may be in flight: it returns, and leaves that file for later.
    await gateway.stop();

    gateway = await open();
    try {
      const p = gateway.imports().progress(paused.importId);
      expect(p.state).toBe('paused');
      expect(p.waiting).toBeGreaterThan(0);
      // Every file counted as queued is one received instance, and no instance is there that no file accounts for.
      expect(Object.values(gateway.counts()).reduce((a, b) => a + b, 0)).toBe(p.queued);
      expect(gateway.imports().resume(cancelled.importId).state).toBe('cancelled');
      expect(gateway.imports().progress(cancelled.importId).queued).toBe(0);
      // Resumed, the paused import finishes with every instance once.
      expect(gateway.imports().resume(paused.importId).state).toBe('running');
      await gateway.applySettings({ ...settings, import: { ...settings.import, maxMegabytesPerSecond: 0 } });
      const done = await waitFor('the import done', () => {
        const q = gateway.imports().progress(paused.importId);
        return q.state === 'done' ? q : undefined;
      }, 120_000, 100);
      expect(done).toMatchObject({ found: 34, queued: 30, notDicom: 4, failed: 0, waiting: 0, alreadyReceived: 0 });
      const counts = gateway.counts();
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(30);
      expect(gateway.imports().list().map((i) => [i.importId, i.state])).toEqual([[cancelled.importId, 'cancelled'], [paused.importId, 'done']]);
    } finally {
      await gateway.stop();
    }
  }, 300_000);
});
