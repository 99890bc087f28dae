/**
 * Many small instances: 2,000 generated 512×512 16-bit images (CT-sized) through intake and de-identification
 * alone (no destination: the research server's ingest excluded), sent on one association as a modality does and
 * on four at once as a multi-threaded sender does; then end to end into a research Orthanc; and, for scale, the
 * same files from storescu into dcmtk's storescp.
 * Usage: npx tsx bench/small-instances.ts [--count 2000] [--runs 3]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startOrthanc } from '../test/support/orthanc';
import { freePort } from '../test/support/ports';
import { waitFor } from '../test/support/processes';
import { openDatabase } from '../src/main/core/store';
import { JobStore } from '../src/main/core/jobs';
import { generate, intoStorescp, machineDescription, machineIdleSeconds, median, seconds, startBenchGateway, storescu, storescuParallel, type BenchGateway } from './lib';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' }, runs: { type: 'string', default: '3' } } });
const count = Number(values.count);
const runs = Number(values.runs);

function deidentifiedCount(gateway: BenchGateway): number {
  const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
  try {
    const c = new JobStore(db).counts();
    return c.deidentified + c.uploading + c.uploaded;
  } finally {
    db.close();
  }
}

interface DeidRun {
  intakeMs: number;
  deidMs: number;
  rss: number;
  /** The gateway's CPU time per instance, and the machine's idle time per instance (all cores), in ms. */
  gatewayCpuMs: number;
  idleMs: number;
}

/** Sends the files on `associations` associations; times the last acknowledgement and the last de-identification. */
async function throughDeidentification(files: string[], associations: number): Promise<DeidRun> {
  const port = await freePort();
  const gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port } });
  try {
    const [cpu0, idle0] = [gateway.cpuSeconds(), machineIdleSeconds()];
    const start = performance.now();
    await storescuParallel(port, files, 'DEID_GW', associations);
    const intakeMs = performance.now() - start;
    await waitFor('all de-identified', () => (deidentifiedCount(gateway) >= files.length ? true : undefined), 600_000, 100);
    const deidMs = performance.now() - start;
    const perInstance = (s: number): number => (s * 1000) / files.length;
    return { intakeMs, deidMs, rss: gateway.peakRssMb(), gatewayCpuMs: perInstance(gateway.cpuSeconds() - cpu0), idleMs: perInstance(machineIdleSeconds() - idle0) };
  } finally {
    await gateway.stop();
  }
}

async function endToEnd(files: string[]): Promise<{ ms: number; rss: number }> {
  const research = await startOrthanc();
  const port = await freePort();
  const gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port }, destination: { url: research.url, username: research.username, password: research.password } });
  try {
    const start = performance.now();
    await storescu(port, files, 'DEID_GW');
    await waitFor('all at Orthanc', async () => ((await research.api<{ CountInstances: number }>('/statistics')).CountInstances >= files.length ? true : undefined), 900_000, 250);
    return { ms: performance.now() - start, rss: gateway.peakRssMb() };
  } finally {
    await gateway.stop();
    await research.stop();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  // 4 views × 10 studies × patients = count instances.
  const data = await generate(['--rows', '512', '--cols', '512', '--patients', String(Math.ceil(count / 40)), '--studies-per-patient', '10', '--views', '4']);
  const files = data.files.slice(0, count);
  const one: DeidRun[] = [];
  const four: typeof one = [];
  const e2e: Array<{ ms: number; rss: number }> = [];
  for (let i = 0; i < runs; i++) {
    one.push(await throughDeidentification(files, 1));
    four.push(await throughDeidentification(files, 4));
    e2e.push(await endToEnd(files));
  }
  const storescpMs = await intoStorescp(files);

  const rate = (ms: number): string => (files.length / (ms / 1000)).toFixed(0);
  const peak = (xs: Array<{ rss: number }>): string => Math.max(...xs.map((x) => x.rss)).toFixed(0);
  const row = (label: string, ms: number, rss = '–'): void => console.log(`| ${label} | ${seconds(ms)} | ${rate(ms)} | ${rss} |`);
  console.log(`| ${files.length} instances of 512×512×16 bit (median of ${runs}) | s | instances/s | peak RSS MB |`);
  console.log('| --- | --- | --- | --- |');
  row('1 association: storescu → gateway intake', median(one.map((r) => r.intakeMs)));
  row('1 association: intake + de-identification (no upload)', median(one.map((r) => r.deidMs)), peak(one));
  row('4 associations: storescu × 4 → gateway intake', median(four.map((r) => r.intakeMs)));
  row('4 associations: intake + de-identification (no upload)', median(four.map((r) => r.deidMs)), peak(four));
  row('1 association: end to end into a research Orthanc', median(e2e.map((r) => r.ms)), peak(e2e));
  row('for scale, 1 association: storescu → dcmtk storescp (one run)', storescpMs);
  console.log('');
  const cpu = (label: string, xs: DeidRun[]): void =>
    console.log(`| ${label} | ${median(xs.map((x) => x.gatewayCpuMs)).toFixed(1)} | ${median(xs.map((x) => x.idleMs)).toFixed(1)} |`);
  console.log('| intake + de-identification (median) | gateway CPU ms per instance (user + system) | machine idle ms per instance (all cores) |');
  console.log('| --- | --- | --- |');
  cpu('1 association', one);
  cpu('4 associations', four);
  console.log('target: ≥ 200 instances/s through de-identification');
  fs.rmSync(data.dir, { recursive: true, force: true });
}

await main();
