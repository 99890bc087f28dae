import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3-multiple-ciphers';
import { openDatabase, DatabaseKeyError, DatabaseTooNewError, migrate } from '../../src/main/core/store';
import { migrations } from '../../src/main/core/store/migrations';

const tempDb = (): string => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'db-')), 'gateway.db');
const key = (): string => crypto.randomBytes(32).toString('hex');

describe('database and migrations', () => {
  it('creates the schema at the latest migration version on a new database', () => {
    const db = openDatabase(tempDb(), key());
    expect(db.pragma('user_version', { simple: true })).toBe(Math.max(...migrations.map((m) => m.version)));
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(['instances', 'patients', 'studies', 'uid_map']);
    db.close();
  });
  it('refuses a database written by a newer version', () => {
    const file = tempDb();
    const k = key();
    openDatabase(file, k).pragma('user_version = 990');
    expect(() => openDatabase(file, k)).toThrow(DatabaseTooNewError);
  });
  it('applies pending migrations in order, in one transaction', () => {
    const db = new Database(':memory:');
    const order: number[] = [];
    migrate(db, [
      { version: 20, name: 'b', up: () => order.push(20) },
      { version: 10, name: 'a', up: () => order.push(10) },
    ]);
    expect(order).toEqual([10, 20]);
    expect(() => migrate(db, [{ version: 30, name: 'broken', up: 'CREATE TABLE x (; broken' }])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(20);
  });
  it('is encrypted: unreadable with another key, and no plaintext on disk', () => {
    const file = tempDb();
    const k = key();
    const db = openDatabase(file, k);
    db.prepare(`INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES ('R-1', 'MRN-SECRET-77', '', 'PLAINTEXTNAME^TEST', '19650723', 'F', 'now')`).run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = Buffer.concat(fs.readdirSync(path.dirname(file)).map((f) => fs.readFileSync(path.join(path.dirname(file), f))));
    expect(bytes.includes('PLAINTEXTNAME')).toBe(false);
    expect(bytes.includes('MRN-SECRET-77')).toBe(false);
    expect(() => openDatabase(file, key())).toThrow(DatabaseKeyError);
  });
});
