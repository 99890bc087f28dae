/**
 * Benchmark: de-identify a 1 GB breast-tomosynthesis-like instance through the engine
 * (parse → deidentify → encode → writePieces) and compare with a plain copy of the same bytes.
 *
 *   npx tsx bench/deid-large.ts [--size-mb 1024] [--dense] [--dir /tmp] [--rounds 3]
 *
 * The instance is written sparse by default (fast to create; its pixel data reads as zeros from the
 * file system); --dense writes real pixel bytes, so both runs also pay for the disk. Prints peak RSS
 * (target: under 300 MB) and MB/s for each round of each method, with the median: writes of 1 GB with
 * fsync vary a lot from one moment to the next on a shared disk, so compare medians over several rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import {
  type DicomDataset,
  encodeInstance,
  parseInstanceFile,
  tagOf,
  textElement,
  writePieces,
} from '../src/main/core/dicom';
import { BufferSource } from '../src/main/core/dicom/source';
import { describeTransferSyntax } from '../src/main/core/dicom/transfer-syntax';
import { deidentifyDataset, readIdentity } from '../src/main/core/deid';
import { DeidSettings } from '../src/shared/settings';

const { values: args } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    dense: { type: 'boolean', default: false },
    dir: { type: 'string', default: os.tmpdir() },
    rounds: { type: 'string', default: '3' },
  },
});

const MB = 1024 * 1024;
const ROWS = 2457;
const COLS = 1996; // a common full-field detector; tomosynthesis slices are this size
const frameBytes = ROWS * COLS * 2;
const frames = Math.max(1, Math.round((Number(args['size-mb']) * MB) / frameBytes));
const pixelBytes = frames * frameBytes;
const dir = fs.mkdtempSync(path.join(args.dir!, 'deid-bench-'));
const input = path.join(dir, 'bto.dcm');

/** Header of a Breast Tomosynthesis Image with PHI, then the pixel data element header; pixels sparse or dense. */
async function writeInstance(): Promise<number> {
  const ds: DicomDataset = new Map();
  const put = (keyword: string, vr: string, value: string): void => void ds.set(tagOf(keyword), textElement(tagOf(keyword), vr, value));
  put('SOPClassUID', 'UI', '1.2.840.10008.5.1.4.1.1.13.1.3');
  put('SOPInstanceUID', 'UI', '1.2.826.0.1.3680043.10.543.1.1');
  put('StudyInstanceUID', 'UI', '1.2.826.0.1.3680043.10.543.1');
  put('SeriesInstanceUID', 'UI', '1.2.826.0.1.3680043.10.543.1.0');
  put('Modality', 'CS', 'MG');
  put('BurnedInAnnotation', 'CS', 'NO');
  put('PatientName', 'PN', 'HOLLOWAY-BENCH^JANE');
  put('PatientID', 'LO', 'MRN0000BENCH');
  put('PatientBirthDate', 'DA', '19650723');
  put('StudyDate', 'DA', '20240311');
  put('InstitutionName', 'LO', 'Bench General Hospital');
  put('StudyDescription', 'LO', 'Tomosynthesis HOLLOWAY-BENCH');
  put('NumberOfFrames', 'IS', String(frames));
  const us = (keyword: string, v: number): void => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    ds.set(tagOf(keyword), { tag: tagOf(keyword), vr: 'US', value: b });
  };
  us('Rows', ROWS);
  us('Columns', COLS);
  us('BitsAllocated', 16);
  us('BitsStored', 12);
  us('HighBit', 11);
  us('PixelRepresentation', 0);
  us('SamplesPerPixel', 1);
  put('PhotometricInterpretation', 'CS', 'MONOCHROME2');
  const syntax = describeTransferSyntax('1.2.840.10008.1.2.1')!;
  const header = Buffer.concat(encodeInstance({ dataset: ds, syntax, source: new BufferSource(Buffer.alloc(0)), sopClassUid: '1.2.840.10008.5.1.4.1.1.13.1.3', sopInstanceUid: '1.2.826.0.1.3680043.10.543.1.1' }) as Buffer[]);
  const pixelHeader = Buffer.from([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57, 0, 0, 0, 0, 0, 0]);
  pixelHeader.writeUInt32LE(pixelBytes, 8);
  const fd = fs.openSync(input, 'w');
  fs.writeSync(fd, Buffer.concat([header, pixelHeader]));
  const size = header.length + pixelHeader.length + pixelBytes;
  if (args.dense) {
    // 12-bit samples with a pattern, so the bytes are not all zero.
    const chunk = Buffer.alloc(4 * MB);
    for (let i = 0; i < chunk.length; i += 2) chunk.writeUInt16LE((i * 7) & 0x0fff, i);
    for (let written = 0; written < pixelBytes; written += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, pixelBytes - written));
  } else {
    fs.ftruncateSync(fd, size);
  }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return size;
}

/** A plain copy through user space with the same 4 MB chunks and the fsync the gateway does. */
async function plainCopy(target: string): Promise<void> {
  const from = await fs.promises.open(input, 'r');
  const to = await fs.promises.open(target, 'w');
  const buffer = Buffer.allocUnsafe(4 * MB);
  for (let at = 0; ; ) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, at);
    if (bytesRead === 0) break;
    await to.write(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  await to.sync();
  await Promise.all([from.close(), to.close()]);
}

async function deidentify(target: string): Promise<void> {
  const parsed = parseInstanceFile(input);
  try {
    const identity = readIdentity(parsed);
    let n = 0;
    const result = deidentifyDataset(parsed.dataset, identity, {
      settings: DeidSettings.parse({}),
      researchId: 'BENCH-00000001',
      researchAccessionNumber: 'ACC000000001',
      researchStudyId: 'STUDY00001',
      mapUid: () => `2.25.${++n}`,
    });
    const pieces = encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid });
    await writePieces(target, pieces, input, parsed.source);
  } finally {
    parsed.close();
  }
}

async function timed(what: string, work: () => Promise<void>, size: number): Promise<number> {
  // Flush what earlier rounds left dirty, so neither method pays for the other's writes.
  execFileSync('sync');
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const rate = size / MB / seconds;
  process.stdout.write(`${what.padEnd(12)} ${seconds.toFixed(2).padStart(7)} s  ${rate.toFixed(0).padStart(6)} MB/s  RSS during ${(peak / MB).toFixed(0)} MB\n`);
  return rate;
}

async function main(): Promise<void> {
  const size = await writeInstance();
  process.stdout.write(`instance: ${frames} frames of ${ROWS}×${COLS}×16 bit, ${(size / MB).toFixed(0)} MB, ${args.dense ? 'dense' : 'sparse'}, in ${dir}\n`);
  const rates = { copy: [] as number[], deid: [] as number[] };
  const copyRound = async (round: number): Promise<void> => {
    rates.copy.push(await timed(`copy #${round}`, () => plainCopy(path.join(dir, 'copy.dcm')), size));
    fs.rmSync(path.join(dir, 'copy.dcm'));
  };
  const deidRound = async (round: number): Promise<void> => {
    rates.deid.push(await timed(`deid #${round}`, () => deidentify(path.join(dir, 'deid.dcm')), size));
    const out = fs.statSync(path.join(dir, 'deid.dcm')).size;
    if (Math.abs(out - size) > 64 * 1024) throw new Error(`De-identified file has ${out} bytes, input ${size}`);
    fs.rmSync(path.join(dir, 'deid.dcm'));
  };
  // Alternate which goes first, so neither always follows the other's writes.
  for (let round = 1; round <= Number(args.rounds); round++) {
    if (round % 2) {
      await copyRound(round);
      await deidRound(round);
    } else {
      await deidRound(round);
      await copyRound(round);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const peakRss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`peak RSS of the whole run: ${peakRss.toFixed(0)} MB (target < 300 MB)\n`);
  process.stdout.write(`median: copy ${median(rates.copy).toFixed(0)} MB/s, de-identification ${median(rates.deid).toFixed(0)} MB/s (${((median(rates.deid) / median(rates.copy)) * 100).toFixed(0)}% of copy)\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: Error) => {
  fs.rmSync(dir, { recursive: true, force: true });
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
