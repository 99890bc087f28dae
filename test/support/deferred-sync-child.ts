/**
 * Run under strace by test/integration/deferred-sync.test.ts: commits through DeferredSync in phases, each phase
 * announced by an access() of a file named after it, so the trace shows which fsyncs each phase made.
 * Usage: tsx deferred-sync-child.ts DIR
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, DeferredSync } from '../../src/main/core/store';

const dir = process.argv[2]!;
const phase = (name: string): void => {
  try {
    fs.accessSync(path.join(dir, `phase-${name}`));
  } catch {
    // The file never exists: the call is only a mark in the trace.
  }
};

const db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));
db.exec('CREATE TABLE probe (n INTEGER)');
const insert = db.prepare('INSERT INTO probe (n) VALUES (?)');
const sync = new DeferredSync(db);

phase('full');
for (let n = 1; n <= 20; n++) db.transaction(() => insert.run(n))();

phase('unsynced');
for (let n = 21; n <= 40; n++) sync.unsynced(() => db.transaction(() => insert.run(n))());

phase('synced');
await Promise.all(Array.from({ length: 10 }, () => sync.synced()));

phase('end');
const restored = db.pragma('synchronous', { simple: true });
let afterThrow: unknown;
try {
  sync.unsynced(() => {
    throw new Error('work failed');
  });
} catch {
  afterThrow = db.pragma('synchronous', { simple: true });
}
const rows = (db.prepare('SELECT count(*) AS n FROM probe').get() as { n: number }).n;
await sync.close();
db.close();
// After the close there is no log left to sync (the close checkpointed it): nothing to wait for, no error.
await sync.synced();
console.log(JSON.stringify({ restored, afterThrow, rows }));
