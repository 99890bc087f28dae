import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it } from 'vitest';
import { writePieces } from '../../src/main/core/dicom';
import { BufferSource } from '../../src/main/core/dicom/source';
import { isOutOfSpace, isStorageFailure, writeFully } from '../../src/main/core/durable';
import { durableFileStream, type SpoolStream } from '../../src/main/core/intake/spool-file';
import { FreeSpace, IntakeRefusal, RefusalBudget, asIntakeFailure } from '../../src/main/core/intake/admission';
import { JobStore } from '../../src/main/core/jobs';
import { deriveSealingKey, migrate, openDatabase, readSealedFile } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';
import { waitFor } from '../support/processes';
import { mountSmallDisk, tmpfsUnavailable, type SmallDisk } from '../support/tmpfs';

const MB = 1024 * 1024;
/** The database key the spool files' sealing key comes from. */
const KEY = crypto.randomBytes(32).toString('hex');
const onSmallDisk = tmpfsUnavailable ? describe.skip : describe;
const skipNote = tmpfsUnavailable ? ` (skipped: ${tmpfsUnavailable})` : '';

/** Writes `chunks` through a spool stream and waits for its end: 'finish' or the error it failed with. */
function spool(file: string, chunks: Buffer[], checkSpace?: (written: number, bytes: number) => string | undefined): Promise<{ stream: SpoolStream; error?: Error }> {
  const stream = durableFileStream(file, Buffer.from('HEAD'), deriveSealingKey(KEY), checkSpace);
  const ended = new Promise<{ stream: SpoolStream; error?: Error }>((resolve) => {
    stream.once('finish', () => resolve({ stream }));
    stream.once('error', (error) => resolve({ stream, error }));
  });
  // One chunk after the other, as PDVs arrive from a sender.
  void (async () => {
    for (const c of chunks) {
      if (stream.destroyed) return;
      await new Promise<void>((resolve) => stream.write(c, () => resolve()));
    }
    stream.end();
  })();
  return ended;
}

onSmallDisk(`writes on a disk that fills up: never more reported than written, nothing partial left${skipNote}`, () => {
  let disk: SmallDisk | undefined;
  afterEach(() => {
    disk?.remove();
    disk = undefined;
  });

  it('the outbox writer fails with ENOSPC on a short write (1 MB free, 2 MB to write) and leaves no temporary file', async () => {
    disk = mountSmallDisk(4 * MB);
    disk.fill(1 * MB);
    const target = path.join(disk.dir, 'out.dcm');
    const big = crypto.randomBytes(2 * MB);
    const error = await writePieces(target, [big], undefined, new BufferSource(big)).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    expect(error?.code).toBe('ENOSPC');
    expect(fs.readdirSync(disk.dir).sort()).toEqual(['filler.bin']);
  });

  it('the outbox writer reports exactly the bytes in the file when they fit', async () => {
    disk = mountSmallDisk(4 * MB);
    const target = path.join(disk.dir, 'out.dcm');
    const pieces = [crypto.randomBytes(300_000), crypto.randomBytes(700_001)];
    const written = await writePieces(target, pieces, undefined, new BufferSource(Buffer.alloc(0)));
    expect(written).toBe(1_000_001);
    expect(fs.statSync(target).size).toBe(1_000_001);
  });

  it('writeFully goes on after a short write and then fails, with the bytes on disk never fewer than it counted', async () => {
    disk = mountSmallDisk(2 * MB);
    disk.fill(512 * 1024);
    const file = path.join(disk.dir, 'f.bin');
    const handle = await fs.promises.open(file, 'w');
    const error = await writeFully(handle, crypto.randomBytes(1 * MB)).then(() => undefined, (e: NodeJS.ErrnoException) => e);
    await handle.close();
    expect(error?.code).toBe('ENOSPC');
    // The kernel took what fitted (a short write) before refusing the rest: less than asked, more than nothing.
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(1 * MB);
  });

  it('a spool file that runs out of space fails as out of resources (0xA700), its .part deleted, its count within what fitted', async () => {
    disk = mountSmallDisk(4 * MB);
    disk.fill(1 * MB);
    const free = disk.free();
    const file = path.join(disk.dir, 'x.dcm.part');
    const { stream, error } = await spool(file, Array.from({ length: 8 }, () => crypto.randomBytes(256 * 1024)));
    expect(error).toBeInstanceOf(IntakeRefusal);
    expect((error as IntakeRefusal).status).toBe(0xa700);
    expect(stream.bytes).toBeLessThanOrEqual(free);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a spool file refused by the space check while it arrives stops at once (0xA700 with the reason) and is deleted', async () => {
    disk = mountSmallDisk(8 * MB);
    const file = path.join(disk.dir, 'y.dcm.part');
    const asked: number[] = [];
    const { stream, error } = await spool(file, Array.from({ length: 6 }, () => crypto.randomBytes(512 * 1024)), (written, bytes) => {
      asked.push(written + bytes);
      return written + bytes > 1.5 * MB ? 'disk nearly full (test floor)' : undefined;
    });
    expect((error as IntakeRefusal).status).toBe(0xa700);
    expect(error?.message).toBe('disk nearly full (test floor)');
    expect(stream.bytes).toBeLessThanOrEqual(1.5 * MB);
    expect(asked.length).toBeGreaterThan(1);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a complete spool file carries the SHA-256 of every clear byte written (file meta included), and is sealed', async () => {
    disk = mountSmallDisk(4 * MB);
    const file = path.join(disk.dir, 'z.dcm.part');
    const body = crypto.randomBytes(700_000);
    const { stream, error } = await spool(file, [body.subarray(0, 100), body.subarray(100)]);
    expect(error).toBeUndefined();
    const clear = Buffer.concat([Buffer.from('HEAD'), body]);
    expect(stream.sha256).toBe(crypto.createHash('sha256').update(clear).digest('hex'));
    expect(stream.bytes).toBe(4 + 700_000);
    // On disk only ciphertext: the clear bytes read back only through the key.
    expect(fs.readFileSync(file).includes(body.subarray(0, 64))).toBe(false);
    expect((await readSealedFile(file, deriveSealingKey(KEY))).equals(clear)).toBe(true);
  });

  it('free space is read again after every 4 MB written, so another program filling the disk is seen before the next second', async () => {
    disk = mountSmallDisk(16 * MB);
    // A minute between timed reads: only the bytes written can make it read again here.
    const free = new FreeSpace(disk.dir, 60_000);
    const first = await free.refresh();
    expect(first).toBeGreaterThan(15 * MB);
    disk.fill(1 * MB);
    free.consumed(1 * MB);
    expect(free.estimate()).toBe(first - 1 * MB);
    // Past 4 MB written it reads again by itself (estimate() alone would not, for a minute).
    free.consumed(3.5 * MB);
    const reread = await waitFor('the estimate read again', () => (free.estimate() <= 1 * MB ? free.estimate() : undefined), 5000, 10);
    expect(reread).toBeGreaterThanOrEqual(0);
  });

  it('a database on a full disk fails with SQLITE_FULL, which counts as storage trouble and answers 0xA700 at intake', () => {
    disk = mountSmallDisk(2 * MB);
    const db = openDatabase(path.join(disk.dir, 'gateway.db'), 'ab'.repeat(32));
    try {
      disk.fill(0);
      const store = new JobStore(db);
      let error: unknown;
      try {
        for (let i = 0; i < 1000; i += 1) store.recordReceived({ sopInstanceUid: `1.2.${i}`, spoolPath: `/s/${i}`.padEnd(2000, 'x'), callingAeTitle: 'M', sizeBytes: 1 });
      } catch (e) {
        error = e;
      }
      expect((error as { code?: string }).code).toBe('SQLITE_FULL');
      expect(isStorageFailure(error)).toBe(true);
      expect(isOutOfSpace(error)).toBe(true);
      const answer = asIntakeFailure(error as Error);
      expect(answer).toBeInstanceOf(IntakeRefusal);
      expect((answer as IntakeRefusal).status).toBe(0xa700);
    } finally {
      db.close();
    }
  });
});

describe('storage failures are told apart from bad data', () => {
  it('ENOSPC, EDQUOT and SQLite I/O errors are storage trouble (through a cause too); a parse error is not', () => {
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'EDQUOT' }))).toBe(true);
    expect(isStorageFailure(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }) }))).toBe(true);
    expect(isStorageFailure(new Error('Invalid tag'))).toBe(false);
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isOutOfSpace(Object.assign(new Error('x'), { code: 'EIO' }))).toBe(false);
  });
});

describe('refused data sets per calling AE title', () => {
  it('keeps 20 a minute from one sender, then none until the bucket refills; other senders are not affected', () => {
    const budget = new RefusalBudget(20);
    const t0 = 1_000_000;
    let kept = 0;
    for (let i = 0; i < 100; i += 1) if (budget.take('FLOOD', t0)) kept += 1;
    expect(kept).toBe(20);
    expect(budget.waitSeconds('FLOOD', t0)).toBe(3);
    expect(budget.take('MAMMO', t0)).toBe(true);
    // 3 s later one more has refilled; a minute later all of them.
    expect(budget.take('FLOOD', t0 + 3000)).toBe(true);
    expect(budget.take('FLOOD', t0 + 3000)).toBe(false);
    expect(budget.waitSeconds('FLOOD', t0 + 63_000)).toBe(0);
  });
});

describe('job store: resends and held instances', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const store = (): { jobs: JobStore; db: Database.Database } => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobs-'));
    dirs.push(dir);
    const db = openDatabase(path.join(dir, 'gateway.db'), 'cd'.repeat(32));
    return { jobs: new JobStore(db), db };
  };
  const received = (uid: string, sha256: string, spoolPath = `/spool/${crypto.randomUUID()}`) => ({ sopInstanceUid: uid, spoolPath, callingAeTitle: 'MAMMO', sizeBytes: 100, sha256 });

  it('the same bytes under the same SOP Instance UID link to the first job; other bytes, or a discarded first, make a new one', () => {
    const { jobs, db } = store();
    const first = jobs.recordReceivedOrResend(received('1.2.3', 'aa'));
    expect(first.resendOf).toBeUndefined();
    const again = jobs.recordReceivedOrResend(received('1.2.3', 'aa'));
    expect(again).toEqual({ id: first.id, resendOf: 'received' });
    expect(jobs.recordReceivedOrResend(received('1.2.3', 'bb')).id).not.toBe(first.id);
    expect(jobs.recordReceivedOrResend(received('1.2.4', 'aa')).id).not.toBe(first.id);
    expect(db.prepare('SELECT count(*) AS n, sum(resends) AS r FROM instances').get()).toEqual({ n: 3, r: 1 });
    db.prepare(`UPDATE instances SET state = 'discarded' WHERE id = ?`).run(first.id);
    expect(jobs.recordReceivedOrResend(received('1.2.3', 'aa')).resendOf).toBeUndefined();
    db.close();
  });

  it('expired holds: refused data sets after their days, held originals after theirs; bulk discard takes only the refused', () => {
    const { jobs, db } = store();
    const refused = jobs.recordHeld(received('9.1', 'r'), 'Refused at intake: not DICOM');
    const id = jobs.recordReceived(received('9.2', 'h'));
    jobs.markHeldInQuarantine(id, 'burned-in text', '/quarantine/h');
    const now = Date.now();
    const day = 86_400_000;
    expect(jobs.expiredHolds(now - 7 * day, now - 30 * day)).toEqual([]);
    expect(jobs.expiredHolds(now + 1, now - 30 * day).map((h) => [h.id, h.refusedAtIntake])).toEqual([[refused, true]]);
    expect(jobs.expiredHolds(now - 7 * day, now + 1).map((h) => [h.id, h.file])).toEqual([[id, '/quarantine/h']]);
    expect(jobs.discardRefused().map((r) => r.id)).toEqual([refused]);
    expect(jobs.discardRefused()).toEqual([]);
    expect(jobs.expireHeld(id, 'retention')).toBe(true);
    expect(jobs.expireHeld(id, 'retention')).toBe(false);
    expect(jobs.counts().discarded).toBe(2);
    db.close();
  });

  it('held instances count against the spool cap (pending bytes)', () => {
    const { jobs, db } = store();
    jobs.recordHeld(received('9.3', 'r'), 'Refused at intake: no UIDs');
    expect(jobs.pendingBytes()).toBe(100);
    db.close();
  });
});

describe('migration 0080: resends and retention of held instances', () => {
  it('gives rows already held their time and whether intake refused them', () => {
    const db = new Database(':memory:');
    migrate(db, migrations.filter((m) => m.version < 80));
    const insert = db.prepare(`INSERT INTO instances (sop_instance_uid, state, spool_path, calling_ae_title, size_bytes, last_error, received_at, updated_at)
      VALUES (?, ?, '/q', 'M', 1, ?, '2026-11-01T10:00:00.000Z', '2026-11-02T10:00:00.000Z')`);
    insert.run('1', 'held', 'Refused at intake: Cannot understand the data set');
    insert.run('2', 'held', 'Burned-in annotation');
    insert.run('3', 'uploaded', null);
    expect(migrate(db, migrations.filter((m) => m.version <= 80))).toBe(80);
    expect(db.prepare('SELECT sop_instance_uid AS uid, held_at, refused_at_intake AS refused, resends FROM instances ORDER BY id').all()).toEqual([
      { uid: '1', held_at: Date.parse('2026-11-02T10:00:00.000Z'), refused: 1, resends: 0 },
      { uid: '2', held_at: Date.parse('2026-11-02T10:00:00.000Z'), refused: 0, resends: 0 },
      { uid: '3', held_at: null, refused: 0, resends: 0 },
    ]);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM instances WHERE sop_instance_uid = ?`).all('1') as Array<{ detail: string }>).map((r) => r.detail).join();
    expect(plan).toMatch(/instances_by_sop_uid/);
  });
});
