import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openDatabase, type GatewayDatabase } from '../../src/main/core/store';
import { AuditLog, GENESIS_HASH } from '../../src/main/core/audit';

const freshDb = (): { db: GatewayDatabase; file: string; key: string } => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'audit-')), 'gateway.db');
  const key = crypto.randomBytes(32).toString('hex');
  return { db: openDatabase(file, key), file, key };
};

const fill = (log: AuditLog): void => {
  log.append({ actor: 'doctor', action: 'doctor.unlock', outcome: 'failure', detail: 'wrong password (1 in a row)' });
  log.append({ actor: 'doctor', action: 'doctor.unlock', outcome: 'success' });
  log.append({ actor: 'doctor', action: 'crosswalk.lookup', outcome: 'success', detail: 'research ID SITE-0000000A' });
  log.append({ actor: 'technologist', action: 'instance.resend', outcome: 'success', detail: 'instance 7' });
};

// The triggers refuse edits from the app; an attacker with the key and a SQLite shell drops them first.
const dropGuards = (db: GatewayDatabase): void => void db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');

describe('audit log', () => {
  it('chains each entry to the previous one by SHA-256 and verifies an untouched log', () => {
    const { db } = freshDb();
    const log = new AuditLog(db);
    fill(log);
    const entries = log.list().reverse();
    expect(entries.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prevHash).toBe(entries[i - 1]!.hash);
    expect(log.verify()).toEqual({ ok: true, entries: 4 });
    db.close();
  });

  it('refuses UPDATE and DELETE on its table', () => {
    const { db } = freshDb();
    fill(new AuditLog(db));
    expect(() => db.prepare("UPDATE audit_log SET outcome = 'success' WHERE id = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE id = 2').run()).toThrow(/append-only/);
    db.close();
  });

  it('detects a past entry edited in the database file', () => {
    const { db, file, key } = freshDb();
    fill(new AuditLog(db));
    db.close();
    // A separate connection, as someone with the key and a SQLite tool would have.
    const other = openDatabase(file, key);
    dropGuards(other);
    other.prepare("UPDATE audit_log SET outcome = 'success' WHERE id = 1").run();
    other.close();
    const reopened = openDatabase(file, key);
    expect(new AuditLog(reopened).verify()).toMatchObject({ ok: false, firstBadId: 1, problem: 'entry 1 was changed after it was written' });
    reopened.close();
  });

  it('detects an edit that also recomputes the edited entry’s own hash', () => {
    const { db } = freshDb();
    const log = new AuditLog(db);
    fill(log);
    dropGuards(db);
    const row = db.prepare('SELECT * FROM audit_log WHERE id = 2').get() as Record<string, string | number>;
    const forged = crypto.createHash('sha256').update(JSON.stringify([row.id, row.at, row.actor, row.action, 'failure', row.detail, row.prev_hash])).digest('hex');
    db.prepare("UPDATE audit_log SET outcome = 'failure', hash = ? WHERE id = 2").run(forged);
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 3, problem: 'entry 3 does not link to the entry before it' });
    db.close();
  });

  it('detects a deleted past entry', () => {
    const { db } = freshDb();
    const log = new AuditLog(db);
    fill(log);
    dropGuards(db);
    db.prepare('DELETE FROM audit_log WHERE id = 2').run();
    expect(log.verify()).toMatchObject({ ok: false, firstBadId: 3, problem: 'entry 2 is missing' });
    db.close();
  });

  it('exports as JSON with hashes and as CSV with one line per entry', () => {
    const { db } = freshDb();
    const log = new AuditLog(db);
    fill(log);
    log.append({ actor: 'system', action: 'settings.change', outcome: 'success', detail: '=cmd|"calc", with comma' });
    const json = JSON.parse(log.export('json')) as Array<{ id: number; hash: string; action: string }>;
    expect(json.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
    expect(json[4]!.hash).toMatch(/^[0-9a-f]{64}$/);
    const csv = log.export('csv').trimEnd().split('\r\n');
    expect(csv[0]).toBe('id,at,actor,action,outcome,detail,prevHash,hash');
    expect(csv).toHaveLength(6);
    expect(csv[2]).toMatch(/^2,[^,]+,doctor,doctor\.unlock,success,,[0-9a-f]{64},[0-9a-f]{64}$/);
    // A formula is defused and a comma quoted.
    expect(csv[5]).toContain(`"'=cmd|""calc"", with comma"`);
    db.close();
  });
});
