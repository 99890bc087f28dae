/**
 * Many small instances: 2,000 generated 512×512 16-bit images (CT-sized), first through intake and
 * de-identification alone (no destination: the research server's ingest excluded), then end to end.
 * Usage: npx tsx bench/small-instances.ts [--count 2000]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startOrthanc } from '../test/support/orthanc';
import { freePort } from '../test/support/ports';
import { waitFor } from '../test/support/processes';
import { openDatabase } from '../src/main/core/store';
import { JobStore } from '../src/main/core/jobs';
import { generate, machineDescription, seconds, startBenchGateway, storescu, type BenchGateway } from './lib';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' } } });
const count = Number(values.count);

function deidentifiedCount(gateway: BenchGateway): number {
  const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
  try {
    const c = new JobStore(db).counts();
    return c.deidentified + c.uploading + c.uploaded;
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  // 4 views × 10 studies × patients = count instances.
  const patients = Math.ceil(count / 40);
  const data = await generate(['--rows', '512', '--cols', '512', '--patients', String(patients), '--studies-per-patient', '10', '--views', '4']);
  const files = data.files.slice(0, count);

  // 1. Intake + de-identification only.
  let port = await freePort();
  let gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port } });
  const intakeStart = performance.now();
  await storescu(port, files, 'DEID_GW');
  const received = performance.now();
  await waitFor('all de-identified', () => (deidentifiedCount(gateway) >= files.length ? true : undefined), 600_000, 200);
  const deidentified = performance.now();
  const deidRss = gateway.peakRssMb();
  await gateway.stop();

  // 2. End to end to a research Orthanc.
  const research = await startOrthanc();
  port = await freePort();
  gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port }, destination: { url: research.url, username: research.username, password: research.password } });
  const e2eStart = performance.now();
  await storescu(port, files, 'DEID_GW');
  await waitFor('all at Orthanc', async () => ((await research.api<{ CountInstances: number }>('/statistics')).CountInstances >= files.length ? true : undefined), 900_000, 250);
  const e2e = performance.now() - e2eStart;
  const e2eRss = gateway.peakRssMb();
  await gateway.stop();
  await research.stop();

  const intakeMs = received - intakeStart;
  const deidMs = deidentified - intakeStart; // from the first instance sent to the last de-identified
  console.log(`| ${files.length} instances of 512×512×16 bit | s | instances/s | peak RSS MB |`);
  console.log('| --- | --- | --- | --- |');
  console.log(`| storescu → gateway intake | ${seconds(intakeMs)} | ${(files.length / (intakeMs / 1000)).toFixed(0)} | – |`);
  console.log(`| intake + de-identification (no upload) | ${seconds(deidMs)} | ${(files.length / (deidMs / 1000)).toFixed(0)} | ${deidRss.toFixed(0)} |`);
  console.log(`| end to end into a research Orthanc | ${seconds(e2e)} | ${(files.length / (e2e / 1000)).toFixed(0)} | ${e2eRss.toFixed(0)} |`);
  console.log('target: ≥ 200 instances/s through de-identification');
  fs.rmSync(data.dir, { recursive: true, force: true });
}

await main();
