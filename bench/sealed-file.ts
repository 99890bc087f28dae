/**
 * What sealing originals at rest costs: plain files against sealed files (AES-256-GCM in chunks), side by side in
 * one run, on the same data.
 *
 *   npx tsx bench/sealed-file.ts [--size-mb 500] [--runs 3] [--chunk-shift 18] [--dir /tmp]
 *
 * Each figure is the median of the runs: wall-clock MB/s and CPU seconds per GB (user + system of the whole
 * process, libuv's thread pool included, from process.cpuUsage()). Reads run on a warm page cache (the file was
 * just written), so they show the CPU cost of decryption rather than the disk's speed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FileSource, type ByteSource } from '../src/main/core/dicom/source';
import { createSealedReadStream, createSealedWriteStream, deriveSealingKey, openSealedInstance } from '../src/main/core/store';
import { machineDescription, median } from './lib';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    'chunk-shift': { type: 'string', default: '18' },
    dir: { type: 'string', default: os.tmpdir() },
  },
});
const SIZE = Math.round(Number(values['size-mb']) * 1024 * 1024);
const RUNS = Number(values.runs);
const CHUNK_SHIFT = Number(values['chunk-shift']);
/** The spool gathers a sender's PDVs into writes of this size. */
const WRITE_PIECE = 512 * 1024;
const READ_PIECE = 1 << 20;
/** writePieces copies bulk data in pieces of this size. */
const COPY_PIECE = 4 << 20;
/** 20,000 reads of about 100 bytes: a header of 2 MB, or 20,000 offsets followed. */
const SMALL_READS = 20_000;

const key = deriveSealingKey(crypto.randomBytes(32).toString('hex'));
const work = fs.mkdtempSync(path.join(values.dir, 'bench-sealed-'));
const plainFile = path.join(work, 'plain.dcm');
const sealedFile = path.join(work, 'sealed.dcm');

// Incompressible, like pixel data after JPEG 2000; generated once, written from memory each run.
const pieces: Buffer[] = [];
for (let at = 0; at < SIZE; at += WRITE_PIECE) pieces.push(crypto.randomBytes(Math.min(WRITE_PIECE, SIZE - at)));

interface Sample {
  seconds: number;
  cpu: number;
}

async function measure(work: () => Promise<void> | void): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu0);
  return { seconds, cpu: (used.user + used.system) / 1e6 };
}

async function plainWrite(): Promise<void> {
  fs.rmSync(plainFile, { force: true });
  const handle = await fs.promises.open(plainFile, 'wx', 0o600);
  for (const piece of pieces) await handle.write(piece);
  await handle.sync();
  await handle.close();
}

async function sealedWrite(): Promise<void> {
  fs.rmSync(sealedFile, { force: true });
  const writer = createSealedWriteStream(sealedFile, key, { chunkShift: CHUNK_SHIFT });
  const done = new Promise<void>((resolve, reject) => writer.once('finish', resolve).once('error', reject));
  for (const piece of pieces) {
    if (!writer.write(piece)) await new Promise((resolve) => writer.once('drain', resolve));
  }
  writer.end();
  await done;
}

async function plainRead(): Promise<void> {
  const handle = await fs.promises.open(plainFile, 'r');
  const buffer = Buffer.allocUnsafe(READ_PIECE);
  let total = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, READ_PIECE, total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  await handle.close();
  if (total !== SIZE) throw new Error(`read ${total} of ${SIZE}`);
}

async function sealedRead(): Promise<void> {
  let total = 0;
  for await (const part of createSealedReadStream(sealedFile, key)) total += (part as Buffer).length;
  if (total !== SIZE) throw new Error(`read ${total} of ${SIZE}`);
}

/** writePieces' bulk copy through the ByteSource: 4 MiB reads from start to end. */
function bulkCopy(open: () => ByteSource): () => void {
  return () => {
    const source = open();
    for (let at = 0; at < source.size; at += COPY_PIECE) source.read(at, Math.min(COPY_PIECE, source.size - at));
    source.close();
  };
}

function lcg(seed: number): (limit: number) => number {
  return (limit) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % limit;
  };
}

/** A parser's header walk: element headers and values of 4–200 bytes, one after the other, from the start. */
function headerWalk(open: () => ByteSource): () => void {
  return () => {
    const source = open();
    const next = lcg(7);
    let at = 0;
    for (let i = 0; i < SMALL_READS; i++) {
      const length = 4 + next(196);
      if (at + length > source.size) at = 0;
      source.read(at, length);
      at += length;
    }
    source.close();
  };
}

/** A reader following offsets across the whole file: reads of 1–256 bytes at random places (each a cache miss). */
function randomReads(open: () => ByteSource): () => void {
  return () => {
    const source = open();
    const next = lcg(11);
    for (let i = 0; i < SMALL_READS; i++) {
      const length = 1 + next(256);
      source.read(next(source.size - length), length);
    }
    source.close();
  };
}

const results: Array<{ what: string; plain: Sample; sealed: Sample; bytes: number; reads?: number }> = [];

async function compare(what: string, plain: () => Promise<void> | void, sealed: () => Promise<void> | void, bytes: number, reads?: number): Promise<void> {
  const p: Sample[] = [];
  const s: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Alternated, so a burst of load on the machine falls on both.
    p.push(await measure(plain));
    s.push(await measure(sealed));
  }
  const med = (xs: Sample[]): Sample => ({ seconds: median(xs.map((x) => x.seconds)), cpu: median(xs.map((x) => x.cpu)) });
  results.push({ what, plain: med(p), sealed: med(s), bytes, reads });
}

try {
  await compare('write + fsync (512 KiB pieces)', plainWrite, sealedWrite, SIZE);
  await compare('sequential read (stream)', plainRead, sealedRead, SIZE);
  await compare('bulk copy via ByteSource (4 MiB reads)', bulkCopy(() => new FileSource(plainFile)), bulkCopy(() => openSealedInstance(sealedFile, key)), SIZE);
  await compare(`header walk (${SMALL_READS} reads of 4–200 B)`, headerWalk(() => new FileSource(plainFile)), headerWalk(() => openSealedInstance(sealedFile, key)), 0, SMALL_READS);
  await compare(`random reads (${SMALL_READS} of 1–256 B)`, randomReads(() => new FileSource(plainFile)), randomReads(() => openSealedInstance(sealedFile, key)), 0, SMALL_READS);

  const overhead = fs.statSync(sealedFile).size - SIZE;
  console.log(`sealed-file bench: ${(SIZE / 2 ** 20).toFixed(0)} MiB, ${RUNS} run(s), median; chunk ${2 ** CHUNK_SHIFT / 1024} KiB; ${machineDescription()}`);
  console.log(`sealed file is ${overhead} bytes larger (${((overhead / SIZE) * 100).toFixed(4)} %)`);
  const mbps = (bytes: number, s: Sample): string => (bytes / 1e6 / s.seconds).toFixed(0).padStart(7);
  const perGb = (bytes: number, s: Sample): string => (s.cpu / (bytes / 1e9)).toFixed(2).padStart(7);
  console.log(`${'operation'.padEnd(44)} ${'plain MB/s'.padStart(11)} ${'sealed MB/s'.padStart(12)} ${'plain CPU s/GB'.padStart(15)} ${'sealed CPU s/GB'.padStart(16)}`);
  for (const r of results) {
    if (r.reads) {
      const perRead = (s: Sample): string => `${((s.seconds / r.reads!) * 1e6).toFixed(1)} µs/read`.padStart(15);
      const cpuPerRead = (s: Sample): string => `${((s.cpu / r.reads!) * 1e6).toFixed(1)} µs CPU`.padStart(15);
      console.log(`${r.what.padEnd(44)} ${perRead(r.plain)} ${perRead(r.sealed)}  ${cpuPerRead(r.plain)} ${cpuPerRead(r.sealed)}`);
      continue;
    }
    console.log(`${r.what.padEnd(44)} ${mbps(r.bytes, r.plain).padStart(11)} ${mbps(r.bytes, r.sealed).padStart(12)} ${perGb(r.bytes, r.plain).padStart(15)} ${perGb(r.bytes, r.sealed).padStart(16)}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
