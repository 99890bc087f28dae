/**
 * Cost of screening mammograms for burned-in text: generated full-field images (default 4096×3328, 27 MB) with
 * and without names burned in, screened one after another in this process (CPU time of decode, triage and OCR per
 * image, median and p95), and the peak RSS of this process while it does.
 * End-to-end throughput with screening on and off is measured by bench/end-to-end.ts with `--screening off`.
 * Usage: npx tsx bench/screening.ts [--rows 4096 --cols 3328] [--rounds 3]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { loadCodecs } from '../src/main/core/screen/raster';
import { createOcrReader } from '../src/main/core/screen/ocr';
import { screenInstance, DEFAULT_SCREENING } from '../src/main/core/screen/screen';
import { identifyingValuesOf } from '../src/main/core/screen/identifying';
import { parseInstanceFile } from '../src/main/core/dicom';
import { machineDescription, median } from './lib';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '4096' }, cols: { type: 'string', default: '3328' }, rounds: { type: 'string', default: '3' } } });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'screening-bench-'));
execFileSync('/usr/bin/python3', [path.resolve(import.meta.dirname, '../test/fixtures/generate-burned-in.py'), '--out', dir, '--rows', values.rows!, '--cols', values.cols!]);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: Array<{ file: string; case: string }> };

await loadCodecs();
const reader = await createOcrReader();
const cpuMs: Record<'clean' | 'text', number[]> = { clean: [], text: [] };
let peakRss = process.memoryUsage().rss;
for (let round = 0; round < Number(values.rounds); round += 1) {
  for (const f of manifest.files) {
    const file = path.join(dir, f.file);
    const parsed = parseInstanceFile(file);
    const identifying = identifyingValuesOf(parsed.dataset);
    parsed.close();
    const bytes = fs.readFileSync(file);
    const before = process.cpuUsage();
    await screenInstance(bytes, identifying, DEFAULT_SCREENING, reader);
    const used = process.cpuUsage(before);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    // tesseract.js runs in its own thread of this process: process CPU time counts it.
    cpuMs[f.case === 'clean' ? 'clean' : 'text'].push((used.user + used.system) / 1000);
  }
}
await reader.close();
fs.rmSync(dir, { recursive: true, force: true });

const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
console.log(machineDescription());
console.log(`screening ${values.rows}×${values.cols} mammograms, ${values.rounds} rounds (CPU ms per image)`);
console.log('| images | n | median | p95 | target |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| clean | ${cpuMs.clean.length} | ${median(cpuMs.clean).toFixed(0)} | ${p95(cpuMs.clean).toFixed(0)} | ≤ 500 median |`);
console.log(`| with text (names, markers, other) | ${cpuMs.text.length} | ${median(cpuMs.text).toFixed(0)} | ${p95(cpuMs.text).toFixed(0)} | ≤ 2000 median |`);
console.log(`peak RSS of this process (one OCR engine): ${(peakRss / 1024 ** 2).toFixed(0)} MB`);
