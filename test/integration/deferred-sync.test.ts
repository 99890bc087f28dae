import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../support/processes';

const ROOT = path.resolve(__dirname, '../..');

/** Why strace cannot trace here (not installed, or ptrace refused, as in some containers), or undefined. */
function straceUnavailable(): string | undefined {
  const probe = spawnSync('strace', ['-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error) return `strace is not installed (${probe.error.message})`;
  if (probe.status !== 0) return `strace cannot trace on this machine (${probe.stderr.trim().split('\n')[0]})`;
  return undefined;
}
const NO_STRACE = straceUnavailable();

/** The fsyncs of each phase the child announced, as the file each one synced. */
function fsyncsByPhase(trace: string): Map<string, string[]> {
  const phases = new Map<string, string[]>();
  let current = 'open';
  for (const line of trace.split('\n')) {
    const mark = /phase-(\w+)/.exec(line);
    if (mark) {
      current = mark[1]!;
      phases.set(current, []);
      continue;
    }
    const synced = /\b(?:fsync|fdatasync)\(\d+<([^>]+)>\)\s+=\s+0/.exec(line);
    if (synced) phases.get(current)?.push(synced[1]!);
  }
  return phases;
}

describe('deferred sync of the database log (real SQLite, traced with strace)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(NO_STRACE)(`leaves commits made in unsynced() to synced(), which fsyncs the write-ahead log once for many callers${NO_STRACE ? ` (skipped: ${NO_STRACE})` : ''}`, async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deferred-sync-'));
    const traceFile = path.join(dir, 'trace.txt');
    const { stdout } = await run('strace', [
      '-f', '-y', '-o', traceFile, '-e', 'trace=fsync,fdatasync,access,faccessat,faccessat2',
      path.join(ROOT, 'node_modules/.bin/tsx'), path.join(ROOT, 'test/support/deferred-sync-child.ts'), dir,
    ]);
    const phases = fsyncsByPhase(fs.readFileSync(traceFile, 'utf8'));
    const wal = path.join(dir, 'gateway.db-wal');
    // Twenty plain commits: the log is synced at each (the trace sees SQLite's fsyncs).
    expect(phases.get('full')?.filter((f) => f === wal).length).toBeGreaterThanOrEqual(20);
    // Twenty commits in unsynced(): none is synced. SQLite may still sync the log's header once, when it restarts
    // the log from its beginning after a checkpoint (its own rule, against out-of-order writes).
    expect(phases.get('unsynced')?.length).toBeLessThanOrEqual(1);
    // Ten callers waiting at once: the log is synced, by one sync (or two, if one was already running).
    const synced = phases.get('synced') ?? [];
    expect(synced.length).toBeGreaterThanOrEqual(1);
    expect(synced.length).toBeLessThanOrEqual(2);
    expect(new Set(synced)).toEqual(new Set([wal]));
    // Every commit is there, and the database is back to synchronous=FULL (2) after the work, even when it throws.
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ restored: 2, afterThrow: 2, rows: 40 });
  });
});
