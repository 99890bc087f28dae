import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeInstance, parseInstanceFile, writePieces } from '../../src/main/core/dicom';
import { createSealedReadStream, createSealedWriteStream, deriveSealingKey, openSealedInstance, SealedFileDamaged } from '../../src/main/core/store';
import { generateMammograms, inspectDicom, type ManifestFile } from '../support/dicom-tools';
import { exited, run } from '../support/processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Real mammograms from the fixture script, sealed as the spool would seal them (16 KB pieces, as storescu's
// PDVs arrive), then read back the ways the pipeline reads an original: the bulk copy of writePieces through
// the ByteSource, and the whole-file stream; dcmtk and pydicom read what comes out.
const key = deriveSealingKey('0f'.repeat(32));
const MAMMO = '1.2.840.10008.5.1.4.1.1.1.2';
let work = '';
let sealedCount = 0;
let files: ManifestFile[] = [];

async function seal(clearFile: string): Promise<string> {
  const target = path.join(work, `${++sealedCount}.sealed`);
  await pipeline(fs.createReadStream(clearFile, { highWaterMark: 16 * 1024 }), createSealedWriteStream(target, key));
  return target;
}

/** Writes the instance's Part 10 encoding, bulk data copied from `source` (the gateway's writer, as the pipeline calls it). */
async function rewrite(clearFile: string, manifest: ManifestFile, target: string, from: 'clear file' | 'sealed source', sealedFile?: string): Promise<void> {
  const parsed = parseInstanceFile(clearFile);
  try {
    const pieces = encodeInstance({ dataset: parsed.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: MAMMO, sopInstanceUid: manifest.sopInstanceUID });
    if (from === 'clear file') return void (await writePieces(target, pieces, clearFile, parsed.source));
    const sealed = openSealedInstance(sealedFile!, key);
    try {
      await writePieces(target, pieces, undefined, sealed);
    } finally {
      sealed.close();
    }
  } finally {
    parsed.close();
  }
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-instance-'));
  // One small and one 6 MB image (pixel data across many 256 KiB chunks).
  const small = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1']);
  const large = await generateMammograms(['--patients', '1', '--studies-per-patient', '1', '--views', '1', '--size-mb', '6', '--seed', '2']);
  files = [
    { ...small.files[0]!, file: path.join(small.dir, small.files[0]!.file) },
    { ...large.files[0]!, file: path.join(large.dir, large.files[0]!.file) },
  ];
}, 120_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  for (const f of files) fs.rmSync(path.dirname(f.file), { recursive: true, force: true });
});

describe('a sealed original read the ways the pipeline reads it', () => {
  it('holds none of the patient\u2019s identifying values in its bytes', async () => {
    for (const f of files) {
      const sealedBytes = fs.readFileSync(await seal(f.file));
      const clearBytes = fs.readFileSync(f.file);
      expect(f.phi.length).toBeGreaterThan(3);
      for (const value of f.phi) {
        expect(clearBytes.includes(Buffer.from(value, 'latin1')), `fixture holds ${value}`).toBe(true);
        expect(sealedBytes.includes(Buffer.from(value, 'latin1'))).toBe(false);
      }
    }
  });

  it('gives writePieces the same bytes as the clear file: the output is byte-identical and dcmtk reads it', async () => {
    for (const f of files) {
      const sealed = await seal(f.file);
      const fromClear = path.join(work, `${f.sopInstanceUID}.from-clear.dcm`);
      const fromSealed = path.join(work, `${f.sopInstanceUID}.from-sealed.dcm`);
      await rewrite(f.file, f, fromClear, 'clear file');
      await rewrite(f.file, f, fromSealed, 'sealed source', sealed);
      expect(fs.readFileSync(fromSealed).equals(fs.readFileSync(fromClear))).toBe(true);
      const dump = await run('dcmdump', ['-q', fromSealed]);
      expect(dump.stdout).toContain(f.sopInstanceUID);
    }
  });

  it('streams back the original byte for byte (pydicom reads the same pixels and identity)', async () => {
    for (const f of files) {
      const unsealed = path.join(work, `${f.sopInstanceUID}.unsealed.dcm`);
      await pipeline(createSealedReadStream(await seal(f.file), key), fs.createWriteStream(unsealed));
      expect(fs.readFileSync(unsealed).equals(fs.readFileSync(f.file))).toBe(true);
      const seen = await inspectDicom([f.file, unsealed]);
      expect(seen[unsealed]!.pixelSha256).toBe(seen[f.file]!.pixelSha256);
      expect(seen[unsealed]!.top).toEqual(seen[f.file]!.top);
    }
  });

  it('a byte altered inside the pixel data: the copy fails with SealedFileDamaged and leaves no output file', async () => {
    const f = files[1]!;
    const sealed = await seal(f.file);
    const bytes = fs.readFileSync(sealed);
    // Well inside the pixel data of a 6 MB image (the header is a few KB): sealed byte 4 MiB is in chunk 16 (64-byte
    // header, then 262,160 bytes a chunk).
    bytes[4 * 1024 * 1024] = bytes[4 * 1024 * 1024]! ^ 0x01;
    fs.writeFileSync(sealed, bytes);
    const target = path.join(work, 'altered-output.dcm');
    await expect(rewrite(f.file, f, target, 'sealed source', sealed)).rejects.toThrow(SealedFileDamaged);
    await expect(rewrite(f.file, f, target, 'sealed source', sealed)).rejects.toThrow(/^The spooled instance is damaged or was altered \(chunk 16 of \d+ failed its integrity check\)/);
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(work).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('a gateway killed while it seals an original', () => {
  it('leaves no clear byte of it on disk, and a file no reader accepts', async () => {
    const file = path.join(work, 'killed.dcm.part');
    const name = 'FENWICK^OPHELIA^MARGUERITE';
    const databaseKey = '0f'.repeat(32);
    // Node itself with tsx's loader (not the tsx command, whose own child would outlive the kill).
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/support/sealed-writer-child.ts'), file, databaseKey, name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    // Killed once it says the first megabyte is on disk: mid-write, with more of the original in its memory.
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('writing') && resolve());
      child.once('exit', (code) => reject(new Error(`writer ended early (${code})`)));
    });
    child.kill('SIGKILL');
    expect(await exited(child)).toBe('SIGKILL');
    const onDisk = fs.readFileSync(file);
    expect(onDisk.length).toBeGreaterThan(1 << 20);
    expect(onDisk.includes(Buffer.from(name, 'latin1'))).toBe(false);
    expect(onDisk.includes(Buffer.from('FENWICK', 'latin1'))).toBe(false);
    expect(() => openSealedInstance(file, key)).toThrow(SealedFileDamaged);
  }, 60_000);
});
