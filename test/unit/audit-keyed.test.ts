import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openDatabase, type GatewayDatabase } from '../../src/main/core/store';
import { AuditLog } from '../../src/main/core/audit';
import { derivedAuditKey } from '../../src/main/core/doctor';
import { loadAuditKey } from '../../src/main/headless/secrets';

const AUDIT_KEY = crypto.randomBytes(32).toString('hex');

const freshDb = (): { db: GatewayDatabase; databaseKey: string } => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-keyed-')), 'gateway.db');
  const databaseKey = crypto.randomBytes(32).toString('hex');
  return { db: openDatabase(file, databaseKey), databaseKey };
};

const fill = (log: AuditLog): void => {
  log.append({ actor: 'doctor', action: 'doctor.unlock', outcome: 'failure', detail: 'wrong password (1 in a row)' });
  log.append({ actor: 'doctor', action: 'crosswalk.export', outcome: 'success', detail: '120 patients' });
  log.append({ actor: 'doctor', action: 'crosswalk.lookup', outcome: 'success', detail: 'research ID SITE-0000000A' });
  log.append({ actor: 'technologist', action: 'instance.resend', outcome: 'success', detail: 'instance 7' });
};

interface Row { id: number; at: string; actor: string; action: string; outcome: string; detail: string; prev_hash: string; hash: string }
const canonical = (r: Row, prev: string): string => JSON.stringify([r.id, r.at, r.actor, r.action, r.outcome, r.detail, prev]);
const sha256 = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');
const hmac = (key: string) => (text: string): string => crypto.createHmac('sha256', Buffer.from(key, 'hex')).update(text).digest('hex');

/**
 * What someone with the database key and a SQLite shell does: drop the guards, change a past entry, then recompute
 * every hash from there on with `sign` so that each entry again links to the one before.
 */
function editAndRehash(db: GatewayDatabase, id: number, detail: string, sign: (text: string) => string): void {
  db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Row[];
  let prev = rows.find((r) => r.id === id - 1)?.hash ?? '0'.repeat(64);
  for (const row of rows.filter((r) => r.id >= id)) {
    const edited = row.id === id ? { ...row, detail } : row;
    const hash = sign(canonical(edited, prev));
    db.prepare('UPDATE audit_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?').run(edited.detail, prev, hash, row.id);
    prev = hash;
  }
}

describe('the keyed audit chain (HMAC with a key held outside the database)', () => {
  it('signs each entry with HMAC-SHA-256 of its fields and the previous signature, as the README describes', () => {
    const { db } = freshDb();
    const log = new AuditLog(db, { key: AUDIT_KEY });
    fill(log);
    const rows = db.prepare('SELECT * FROM audit_log ORDER BY id').all() as Row[];
    let prev = '0'.repeat(64);
    for (const row of rows) {
      expect(row.prev_hash).toBe(prev);
      expect(row.hash).toBe(hmac(AUDIT_KEY)(canonical(row, prev)));
      prev = row.hash;
    }
    expect(log.verify()).toEqual({ ok: true, entries: 4 });
    db.close();
  });

  it('detects an edit followed by re-hashing every later entry, which an unkeyed chain cannot', () => {
    // The control: without a key, the forgery passes (the problem this key solves).
    const unkeyed = freshDb();
    const plain = new AuditLog(unkeyed.db);
    fill(plain);
    editAndRehash(unkeyed.db, 2, '0 patients', sha256);
    expect(plain.verify()).toEqual({ ok: true, entries: 4 });
    unkeyed.db.close();

    const { db, databaseKey } = freshDb();
    const log = new AuditLog(db, { key: AUDIT_KEY });
    fill(log);
    editAndRehash(db, 2, '0 patients', sha256);
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 2, problem: 'entry 2 was changed after it was written' });
    // Nor does guessing the key from the database key help (the stand-in key for embedders is not this one).
    editAndRehash(db, 2, '0 patients', hmac(derivedAuditKey(databaseKey)));
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 2 });
    // Only the real key re-signs it: the forger would need the secret store.
    editAndRehash(db, 2, '0 patients', hmac(AUDIT_KEY));
    expect(log.verify()).toEqual({ ok: true, entries: 4 });
    db.close();
  });

  it('signs the entries an older version wrote (unkeyed) with a new key once, if their chain is intact, and says so in the log', () => {
    const { db } = freshDb();
    fill(new AuditLog(db));
    const before = (db.prepare('SELECT hash FROM audit_log ORDER BY id').all() as Array<{ hash: string }>).map((r) => r.hash);
    const log = new AuditLog(db, { key: AUDIT_KEY });
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 1 });
    expect(log.adoptUnkeyedEntries()).toEqual({ adopted: 'resigned', entries: 4 });
    expect(log.verify()).toEqual({ ok: true, entries: 5 });
    expect(log.list({ limit: 1 })[0]).toMatchObject({ action: 'audit.keyed', actor: 'system', detail: '4 earlier entries checked under the unkeyed chain and signed with the audit key' });
    const after = (db.prepare('SELECT hash FROM audit_log ORDER BY id LIMIT 4').all() as Array<{ hash: string }>).map((r) => r.hash);
    expect(after.some((h, i) => h === before[i])).toBe(false);
    // The guards are back, and a second adoption does nothing.
    expect(() => db.prepare("UPDATE audit_log SET outcome = 'success' WHERE id = 1").run()).toThrow(/append-only/);
    expect(log.adoptUnkeyedEntries()).toEqual({ adopted: 'nothing-to-do' });
    // From now on, an unkeyed re-hash is caught.
    editAndRehash(db, 3, 'research ID SITE-0000000B', sha256);
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 3 });
    db.close();
  });

  it('does not sign an unkeyed chain that was already broken: the break stays visible', () => {
    const { db } = freshDb();
    fill(new AuditLog(db));
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET detail = 'edited' WHERE id = 2").run();
    const log = new AuditLog(db, { key: AUDIT_KEY });
    expect(log.adoptUnkeyedEntries()).toEqual({ adopted: 'refused', problem: 'entry 2 was changed after it was written' });
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 1 });
    expect(log.count()).toBe(4);
    db.close();
  });
});

describe('the headless audit key', () => {
  it('is made once, 0600, kept pending until the log is signed with it, then settled', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-key-'));
    const file = path.join(dir, 'audit.key');
    const first = loadAuditKey(file, {});
    expect(first.isNew).toBe(true);
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(fs.statSync(`${file}.pending`).mode & 0o777).toBe(0o600);
    // A crash before commit: the next start finds the same pending key, still new.
    expect(loadAuditKey(file, {})).toMatchObject({ key: first.key, isNew: true });
    first.commit();
    expect(fs.existsSync(`${file}.pending`)).toBe(false);
    expect(loadAuditKey(file, {})).toMatchObject({ key: first.key, isNew: false });
    fs.chmodSync(file, 0o644);
    expect(() => loadAuditKey(file, {})).toThrow(/may be read by others/);
    expect(() => loadAuditKey(file, { DEID_GATEWAY_AUDIT_KEY: 'short' })).toThrow(/64 hex characters/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
