import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewaySettings } from '../../src/shared/settings';
import { Pipeline } from '../../src/main/core/pipeline';
import { clearFiles } from '../../src/main/core/dicom';
import { JobStore } from '../../src/main/core/jobs';
import { Crosswalk } from '../../src/main/core/crosswalk';
import { DeferredSync, openDatabase } from '../../src/main/core/store';
import { createLogger } from '../../src/main/core/log';
import { waitFor } from '../support/processes';
import { generateMammograms } from '../support/dicom-tools';
import { mountSmallDisk, tmpfsUnavailable, type SmallDisk } from '../support/tmpfs';

const skipNote = tmpfsUnavailable ? ` (skipped: ${tmpfsUnavailable})` : '';

describe.skipIf(tmpfsUnavailable !== undefined)(`de-identification on a full outbox disk${skipNote}`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-full-'));
  let disk: SmallDisk | undefined;
  let pipeline: Pipeline | undefined;
  afterAll(async () => {
    await pipeline?.stop();
    disk?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an instance whose outbox write hits ENOSPC stays received (not held for review), Status-worthy, and is de-identified once space returns', async () => {
    const set = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--rows', '256', '--cols', '256', '--no-verify']);
    const spoolPath = path.join(dir, 'instance.dcm');
    fs.copyFileSync(path.join(set.dir, set.files[0]!.file), spoolPath);
    // The database and the spool on an ordinary disk; the outbox on a tmpfs with no byte free.
    disk = mountSmallDisk(1024 * 1024);
    disk.fill(0);
    const db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));
    const jobs = new JobStore(db);
    const lines: string[] = [];
    pipeline = new Pipeline({
      originals: clearFiles,
      jobs,
      crosswalk: new Crosswalk(db, 'KGH'),
      sync: new DeferredSync(db),
      settings: () => GatewaySettings.parse({}),
      outboxDir: disk.dir,
      quarantineDir: dir,
      logger: createLogger({ sink: (line) => void lines.push(line) }),
      events: new EventEmitter(),
      freeBytes: async () => disk!.free(),
    });
    const id = jobs.recordReceived({ sopInstanceUid: set.files[0]!.sopInstanceUID, spoolPath, callingAeTitle: 'MAMMO', sizeBytes: fs.statSync(spoolPath).size });
    pipeline.wake();
    const problem = await waitFor('the storage problem', () => pipeline!.storageProblem(), 30_000, 20);
    expect(problem.error).toMatch(/ENOSPC|no space/i);
    expect(jobs.get(id)?.state).toBe('received');
    expect(fs.readdirSync(disk.dir).filter((f) => f !== 'filler.bin')).toEqual([]);
    expect(lines.join('\n')).toMatch(/storage refuses writes/);
    expect(lines.join('\n')).not.toMatch(/held for review/);

    fs.rmSync(path.join(disk.dir, 'filler.bin'));
    await waitFor('de-identified once space returns', () => (jobs.get(id)?.state === 'deidentified' ? true : undefined), 30_000, 50);
    expect(pipeline.storageProblem()).toBeUndefined();
    expect(fs.existsSync(path.join(disk.dir, `${id}.dcm`))).toBe(true);
    expect(jobs.counts().held).toBe(0);
    await pipeline.stop();
    pipeline = undefined;
    db.close();
  });
});
