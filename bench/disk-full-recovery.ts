/**
 * Disk-full recovery: how long from "the disk has space again" to "backlog empty". INSTANCES received instances wait
 * while the outbox's disk (a real tmpfs, mounted here; needs root) is full; the pipeline backs off (1 s, 2 s … 30 s);
 * space returns after a pause that grows each round (so the backoff is at a different step each time), and the
 * time until every instance is de-identified is printed, with the worst of all rounds.
 *
 *   npx tsx bench/disk-full-recovery.ts [INSTANCES] [ROUNDS]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import { GatewaySettings } from '../src/shared/settings';
import { Pipeline } from '../src/main/core/pipeline';
import { clearFiles } from '../src/main/core/dicom';
import { JobStore } from '../src/main/core/jobs';
import { Crosswalk } from '../src/main/core/crosswalk';
import { DeferredSync, openDatabase } from '../src/main/core/store';
import { createLogger } from '../src/main/core/log';
import { generateMammograms } from '../test/support/dicom-tools';
import { mountSmallDisk, tmpfsUnavailable } from '../test/support/tmpfs';

const INSTANCES = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 5);

async function until(what: string, probe: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function main(): Promise<void> {
  if (tmpfsUnavailable) {
    console.log(`disk-full recovery: not run: ${tmpfsUnavailable}`);
    return;
  }
  const set = await generateMammograms(['--patients', String(Math.ceil(INSTANCES / 4)), '--studies-per-patient', '1', '--views', '4', '--rows', '256', '--cols', '256', '--no-verify']);
  const files = set.files.slice(0, INSTANCES);
  const results: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-diskfull-'));
    const disk = mountSmallDisk(64 * 1024 * 1024);
    const db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));
    const jobs = new JobStore(db);
    const pipeline = new Pipeline({
      originals: clearFiles,
      jobs,
      crosswalk: new Crosswalk(db, 'BENCH'),
      sync: new DeferredSync(db),
      settings: () => GatewaySettings.parse({}),
      outboxDir: disk.dir,
      quarantineDir: dir,
      logger: createLogger({ sink: () => undefined }),
      events: new EventEmitter(),
      freeBytes: async () => disk.free(),
    });
    try {
      disk.fill(0);
      for (const f of files) {
        const spoolPath = path.join(dir, `${crypto.randomUUID()}.dcm`);
        fs.copyFileSync(path.join(set.dir, f.file), spoolPath);
        jobs.recordReceived({ sopInstanceUid: f.sopInstanceUID, spoolPath, callingAeTitle: 'BENCH', sizeBytes: fs.statSync(spoolPath).size });
      }
      pipeline.wake();
      await until('the storage problem', () => pipeline.storageProblem() !== undefined);
      // 0.5 s, 2.5 s, 4.5 s …: space returns at a different step of the backoff each round.
      const pauseMs = 500 + round * 2000;
      await new Promise((r) => setTimeout(r, pauseMs));
      const attempts = pipeline.storageProblem()?.attempts ?? 0;
      fs.rmSync(path.join(disk.dir, 'filler.bin'));
      const back = performance.now();
      await until('backlog empty', () => jobs.counts().received === 0);
      const ms = performance.now() - back;
      results.push(ms);
      console.log(`round ${round + 1}: disk full for ${(pauseMs / 1000).toFixed(1)} s (${attempts} backoff step(s)), space back → ${INSTANCES} instance(s) de-identified in ${Math.round(ms)} ms; held ${jobs.counts().held}`);
    } finally {
      await pipeline.stop();
      db.close();
      disk.remove();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const sorted = [...results].sort((a, b) => a - b);
  console.log(`disk-full recovery (${INSTANCES} instances, ${ROUNDS} rounds): best ${Math.round(sorted[0]!)} ms, median ${Math.round(sorted[Math.floor(sorted.length / 2)]!)} ms, worst ${Math.round(sorted.at(-1)!)} ms`);
}

void main();
