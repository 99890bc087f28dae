/**
 * Cost of the residual-PHI check (run on every output file before upload) relative to de-identification.
 * For each generated mammogram: de-identification as the pipeline does it (parse → crosswalk → deidentify →
 * encode → write the outbox file), then the check as the pipeline does it (collect the original's identifying
 * values, parse the written file, scan every element and the bytes outside pixel data). Three sets: small
 * 512×512 instances, default-size instances, and 27 MB full-field mammograms.
 * With --before FILE (this script's output from an earlier commit), the figures are printed side by side.
 * Usage: npx tsx bench/residual-check.ts [--count 200] [--large 12] [--before FILE]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { encodeInstance, parseInstanceFile, writePieces } from '../src/main/core/dicom';
import { deidentifyDataset, readIdentity } from '../src/main/core/deid';
import { Crosswalk } from '../src/main/core/crosswalk';
import { openDatabase } from '../src/main/core/store';
import { checkOutputFile } from '../src/main/core/verify';
import { GatewaySettings } from '../src/shared/settings';
import { generate, machineDescription, median } from './lib';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, large: { type: 'string', default: '12' }, before: { type: 'string' } } });

const settings = GatewaySettings.parse({ site: { code: 'BENCH' } });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-bench-'));
const crosswalk = new Crosswalk(openDatabase(path.join(work, 'gateway.db'), crypto.randomBytes(32).toString('hex')), 'BENCH');

interface Timing {
  deidMs: number;
  checkMs: number;
  fastestCheckMs: number;
  findings: number;
}

async function deidentifyAndCheck(input: string, index: number): Promise<Timing> {
  const t0 = performance.now();
  const parsed = parseInstanceFile(input);
  const identity = readIdentity(parsed);
  const patient = crosswalk.linkPatient(identity);
  const study = crosswalk.linkStudy(patient, identity);
  const result = deidentifyDataset(parsed.dataset, identity, {
    settings: settings.deid,
    researchId: patient.researchId,
    siteCode: settings.site.code,
    researchAccessionNumber: study.researchAccessionNumber,
    researchStudyId: study.researchStudyId,
    mapUid: (uid) => crosswalk.mapUid(uid),
  });
  const output = path.join(work, `${index}.dcm`);
  await writePieces(output, encodeInstance({ dataset: result.dataset, syntax: parsed.syntax, source: parsed.source, sopClassUid: result.sopClassUid, sopInstanceUid: result.sopInstanceUid }), parsed.syntax.deflated ? undefined : input, parsed.source);
  const t1 = performance.now();
  const written = {
    researchId: patient.researchId,
    researchAccessionNumber: study.researchAccessionNumber,
    researchStudyId: study.researchStudyId,
    siteCode: settings.site.code,
  };
  const findings = checkOutputFile(output, parsed.dataset, settings.deid, written).length;
  const t2 = performance.now();
  // The same check again: its fastest run, which a busy machine disturbs far less than a single one.
  let fastest = t2 - t1;
  for (let i = 0; i < 4; i++) {
    const a = performance.now();
    checkOutputFile(output, parsed.dataset, settings.deid, written);
    fastest = Math.min(fastest, performance.now() - a);
  }
  parsed.close();
  fs.rmSync(output);
  return { deidMs: t1 - t0, checkMs: t2 - t1, fastestCheckMs: fastest, findings };
}

async function measure(label: string, args: string[], limit: number): Promise<string> {
  const data = await generate(args);
  const files = data.files.slice(0, limit);
  const timings: Timing[] = [];
  for (const [i, f] of files.entries()) timings.push(await deidentifyAndCheck(f, i));
  fs.rmSync(data.dir, { recursive: true, force: true });
  const deid = timings.reduce((a, t) => a + t.deidMs, 0);
  const check = timings.reduce((a, t) => a + t.checkMs, 0);
  const findings = timings.reduce((a, t) => a + t.findings, 0);
  const ratio = (100 * check) / deid;
  return `| ${label} | ${files.length} | ${median(timings.map((t) => t.deidMs)).toFixed(2)} | ${median(timings.map((t) => t.checkMs)).toFixed(2)} | ${ratio.toFixed(1)} % | ${median(timings.map((t) => t.fastestCheckMs)).toFixed(2)} | ${findings} |`;
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  const count = Number(values.count);
  const rows = [
    await measure('512×512×16 bit (CT-sized)', ['--rows', '512', '--cols', '512', '--patients', String(Math.ceil(count / 8)), '--studies-per-patient', '2', '--views', '4', '--no-verify'], count),
    await measure('256×200 (generator default)', ['--patients', String(Math.ceil(count / 8)), '--studies-per-patient', '2', '--views', '4', '--no-verify'], count),
    await measure('27 MB full-field mammogram', ['--size-mb', '27', '--patients', '1', '--studies-per-patient', '3', '--views', '4', '--no-verify'], Number(values.large)),
  ];
  console.log('| instances | n | de-identification ms (median) | residual check ms (median) | check / de-identification (total) | check ms, fastest of 5 (median) | hits |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  console.log('target: check under 5 % of de-identification time; hits 0 (the normal profile leaves nothing)');
  if (values.before) printSideBySide(fs.readFileSync(values.before, 'utf8'), rows);
  fs.rmSync(work, { recursive: true, force: true });
}

/** The rows of an earlier run and this one, cell by cell: "before → after". */
function printSideBySide(before: string, rows: string[]): void {
  const cells = (row: string): string[] => row.split('|').slice(1, -1).map((c) => c.trim());
  const earlier = new Map(before.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| instances') && !l.startsWith('| ---')).map((l) => [cells(l)[0]!, cells(l)]));
  console.log('\nbefore → after (same arguments, earlier run from --before)');
  console.log('| instances | de-identification ms (median) | residual check ms (median) | check / de-identification (total) | check ms, fastest of 5 (median) | hits |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const now = cells(row);
    const then = earlier.get(now[0]!);
    const pair = (i: number): string => `${then?.[i] ?? '?'} → ${now[i]}`;
    console.log(`| ${now[0]} | ${pair(2)} | ${pair(3)} | ${pair(4)} | ${pair(5)} | ${pair(6)} |`);
  }
}

await main();
