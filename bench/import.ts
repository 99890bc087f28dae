/**
 * Folder import against the research-ingest floor, side by side in one run (bench/README.md):
 *   import   a folder of generated mammograms → npm run import's API call → spool → de-identify → research Orthanc
 *   dimse    (with --dimse) the same files sent with storescu to the gateway's DICOM port, for the DIMSE path
 *   floor    the same files POSTed straight to a research Orthanc (two in flight, as destination.concurrency)
 * Prints wall time, MB/s, the ratio to the floor, and CPU seconds per GB of the gateway and of each Orthanc.
 * Usage: npx tsx bench/import.ts [--files 200] [--size-mb 27] [--runs 1] [--dimse]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startOrthanc, type OrthancServer } from '../test/support/orthanc';
import { freePort } from '../test/support/ports';
import { waitFor } from '../test/support/processes';
import { readApiEndpoint } from '../src/main/headless/api-endpoint';
import { cpuSeconds, generate, machineDescription, median, seconds, startBenchGateway, storescu } from './lib';

const { values } = parseArgs({ options: { files: { type: 'string', default: '200' }, 'size-mb': { type: 'string', default: '27' }, runs: { type: 'string', default: '1' }, dimse: { type: 'boolean', default: false } } });
const fileCount = Number(values.files);
const runs = Number(values.runs);

/** The Orthanc process serving `orthanc` (found by its configuration file in /proc), for its CPU seconds. */
function orthancPid(orthanc: OrthancServer): number {
  const config = path.join(path.dirname(orthanc.storageDir), 'orthanc.json');
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(config)) return Number(entry);
    } catch {
      // a process that ended meanwhile
    }
  }
  throw new Error('Orthanc process not found');
}

const stored = async (orthanc: OrthancServer): Promise<number> => (await orthanc.api<{ CountInstances: number }>('/statistics')).CountInstances;

interface Outcome {
  ms: number;
  gatewayCpuS?: number;
  orthancCpuS: number;
}

async function viaGateway(how: 'import' | 'dimse', dir: string, files: string[]): Promise<Outcome> {
  const n = files.length;
  const research = await startOrthanc();
  const port = await freePort();
  const gateway = await startBenchGateway({
    intake: { aeTitle: 'DEID_GW', port },
    destination: { url: research.url, username: research.username, password: research.password },
  });
  try {
    const endpoint = readApiEndpoint(gateway.dataDir);
    const opid = orthancPid(research);
    const [g0, o0] = [gateway.cpuSeconds(), cpuSeconds(opid)];
    const start = performance.now();
    if (how === 'import') {
      const res = await fetch(`${endpoint.url}/api/startImport`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Gateway-Token': endpoint.token }, body: JSON.stringify({ path: dir }) });
      if (!res.ok) throw new Error(`startImport: ${await res.text()}`);
    } else await storescu(port, files, 'DEID_GW');
    await waitFor(`${n} instances at the research Orthanc`, async () => ((await stored(research)) >= n ? true : undefined), 1_800_000, 100);
    return { ms: performance.now() - start, gatewayCpuS: gateway.cpuSeconds() - g0, orthancCpuS: cpuSeconds(opid) - o0 };
  } finally {
    await gateway.stop();
    await research.stop();
  }
}

async function floor(files: string[]): Promise<Outcome> {
  const research = await startOrthanc();
  const auth = `Basic ${Buffer.from(`${research.username}:${research.password}`).toString('base64')}`;
  try {
    const opid = orthancPid(research);
    const o0 = cpuSeconds(opid);
    const start = performance.now();
    const queue = [...files];
    await Promise.all([0, 1].map(async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const res = await fetch(`${research.url}/instances`, { method: 'POST', headers: { Authorization: auth }, body: await fs.promises.readFile(f) });
        if (!res.ok) throw new Error(`POST /instances: ${res.status}`);
        await res.arrayBuffer();
      }
    }));
    return { ms: performance.now() - start, orthancCpuS: cpuSeconds(opid) - o0 };
  } finally {
    await research.stop();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  const patients = Math.max(1, Math.ceil(fileCount / 8));
  const data = await generate(['--size-mb', String(values['size-mb']), '--patients', String(patients), '--studies-per-patient', '2', '--views', '4']);
  const files = data.files.slice(0, fileCount);
  for (const extra of data.files.slice(fileCount)) fs.rmSync(extra);
  fs.rmSync(path.join(data.dir, 'manifest.json'), { force: true });
  const gb = files.reduce((s, f) => s + fs.statSync(f).size, 0) / 1e9;
  console.log(`data: ${files.length} generated mammograms, ${(gb * 1000).toFixed(0)} MB in all, in one folder`);
  const results = { import: [] as Outcome[], dimse: [] as Outcome[], floor: [] as Outcome[] };
  try {
    for (let i = 0; i < runs; i++) {
      results.floor.push(await floor(files));
      results.import.push(await viaGateway('import', data.dir, files));
      if (values.dimse) results.dimse.push(await viaGateway('dimse', data.dir, files));
      console.log(`run ${i + 1}/${runs}: import ${seconds(results.import.at(-1)!.ms)} s${values.dimse ? `, DIMSE ${seconds(results.dimse.at(-1)!.ms)} s` : ''}, floor ${seconds(results.floor.at(-1)!.ms)} s`);
    }
  } finally {
    fs.rmSync(data.dir, { recursive: true, force: true });
  }
  const m = (k: keyof typeof results, f: (o: Outcome) => number): number => median(results[k].map(f));
  const fl = m('floor', (o) => o.ms);
  console.log('');
  console.log('| path | wall s | MB/s | × floor | gateway CPU s/GB | Orthanc CPU s/GB |');
  console.log('| --- | --- | --- | --- | --- | --- |');
 const rows = [['folder import through the gateway', 'import'], ['storescu to the gateway (DIMSE path)', 'dimse'], ['floor: POST to research Orthanc', 'floor']] as const;
  for (const [name, k] of rows.filter(([, k]) => results[k].length > 0)) {
    const ms = m(k, (o) => o.ms);
    const gw = k !== 'floor' ? (m(k, (o) => o.gatewayCpuS ?? 0) / gb).toFixed(1) : '–';
    console.log(`| ${name} | ${seconds(ms)} | ${((gb * 1000) / (ms / 1000)).toFixed(0)} | ${(ms / fl).toFixed(2)} | ${gw} | ${(m(k, (o) => o.orthancCpuS) / gb).toFixed(1)} |`);
  }
  console.log(`target: the import within 1.3× of the floor (issue 21)`);
}

void main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
