/**
 * End to end, side by side, on the same files in the same run (bench/README.md):
 *   gateway     storescu → gateway (de-identify) → research Orthanc
 *   reference   storescu → clinic Orthanc → /anonymize each stable study → peer → research Orthanc
 *   floor       the same files POSTed straight to the research Orthanc
 * Usage: npx tsx bench/end-to-end.ts [--runs 3] [--files 20] [--size-mb 27]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { startOrthanc, type OrthancServer } from '../test/support/orthanc';
import { freePort } from '../test/support/ports';
import { waitFor } from '../test/support/processes';
import { generate, machineDescription, machineIdleSeconds, median, seconds, startBenchGateway, storescu } from './lib';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, files: { type: 'string', default: '20' }, 'size-mb': { type: 'string', default: '27' } } });
const runs = Number(values.runs);
const fileCount = Number(values.files);

async function instanceCount(orthanc: OrthancServer): Promise<number> {
  return (await orthanc.api<{ CountInstances: number }>('/statistics')).CountInstances;
}

async function untilStored(orthanc: OrthancServer, n: number): Promise<number> {
  await waitFor(`${n} instances at the research Orthanc`, async () => ((await instanceCount(orthanc)) >= n ? true : undefined), 600_000, 50);
  return performance.now();
}

interface Outcome {
  totalMs: number;
  afterLastStoreMs: number;
  peakRssMb?: number;
  /** Gateway runs: the gateway's CPU seconds, and the machine's idle seconds (both cores) over the run. */
  gatewayCpuS?: number;
  idleS?: number;
}

async function viaGateway(files: string[]): Promise<Outcome> {
  const research = await startOrthanc();
  const port = await freePort();
  const gateway = await startBenchGateway({
    intake: { aeTitle: 'DEID_GW', port },
    destination: { url: research.url, username: research.username, password: research.password },
  });
  try {
    const [cpu0, idle0] = [gateway.cpuSeconds(), machineIdleSeconds()];
    const start = performance.now();
    await storescu(port, files, 'DEID_GW');
    const lastStore = performance.now();
    const done = await untilStored(research, files.length);
    return {
      totalMs: done - start,
      afterLastStoreMs: done - lastStore,
      peakRssMb: gateway.peakRssMb(),
      gatewayCpuS: gateway.cpuSeconds() - cpu0,
      idleS: machineIdleSeconds() - idle0,
    };
  } finally {
    await gateway.stop();
    await research.stop();
  }
}

const ANONYMIZE_AND_FORWARD = `
function OnStableStudy(studyId, tags, metadata)
  -- The anonymized copy becomes a stable study too: it is forwarded below, not anonymized again.
  if metadata['AnonymizedFrom'] ~= nil then return end
  local anonymized = ParseJson(RestApiPost('/studies/' .. studyId .. '/anonymize', DumpJson({ Force = true }, true)))
  RestApiPost('/peers/research/store', anonymized['ID'])
end
`;

async function viaTwoOrthancs(files: string[]): Promise<Outcome> {
  const research = await startOrthanc();
  const dicomPort = await freePort();
  const luaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lua-'));
  const lua = path.join(luaDir, 'forward.lua');
  fs.writeFileSync(lua, ANONYMIZE_AND_FORWARD);
  const clinic = await startOrthanc({
    extraConfig: {
      DicomServerEnabled: true,
      DicomAet: 'CLINIC',
      DicomPort: dicomPort,
      StableAge: 1, // the shortest Orthanc allows: the reference waits for a stable study before anonymizing
      OrthancPeers: { research: [`${research.url}/`, research.username, research.password] },
      LuaScripts: [lua],
    },
  });
  try {
    const start = performance.now();
    await storescu(dicomPort, files, 'CLINIC');
    const lastStore = performance.now();
    const done = await untilStored(research, files.length);
    return { totalMs: done - start, afterLastStoreMs: done - lastStore };
  } finally {
    await clinic.stop();
    await research.stop();
    fs.rmSync(luaDir, { recursive: true, force: true });
  }
}

function post(orthanc: OrthancServer, file: string): Promise<void> {
  const size = fs.statSync(file).size;
  return new Promise((resolve, reject) => {
    const req = http.request(`${orthanc.url}/instances`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/dicom', 'Content-Length': size, Authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}` },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

async function floor(files: string[]): Promise<Outcome> {
  const research = await startOrthanc();
  try {
    const start = performance.now();
    const queue = [...files];
    // Two uploads in flight, as the gateway's default destination.concurrency.
    await Promise.all([0, 1].map(async () => {
      for (let f = queue.shift(); f; f = queue.shift()) await post(research, f);
    }));
    const done = performance.now();
    return { totalMs: done - start, afterLastStoreMs: 0 };
  } finally {
    await research.stop();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  const data = await generate(['--size-mb', String(values['size-mb']), '--patients', '3', '--studies-per-patient', '2', '--views', '4']);
  const files = data.files.slice(0, fileCount);
  const totalMb = files.reduce((s, f) => s + fs.statSync(f).size, 0) / 1e6;
  console.log(`data: ${files.length} generated mammograms, ${totalMb.toFixed(0)} MB in all`);
  const results: Record<string, Outcome[]> = { gateway: [], reference: [], floor: [] };
  for (let i = 0; i < runs; i++) {
    results.gateway!.push(await viaGateway(files));
    results.reference!.push(await viaTwoOrthancs(files));
    results.floor!.push(await floor(files));
    console.log(`run ${i + 1}/${runs}: gateway ${seconds(results.gateway!.at(-1)!.totalMs)} s, reference ${seconds(results.reference!.at(-1)!.totalMs)} s, floor ${seconds(results.floor!.at(-1)!.totalMs)} s`);
  }
  const m = (k: string, f: (o: Outcome) => number): number => median(results[k]!.map(f));
  const g = m('gateway', (o) => o.totalMs);
  const r = m('reference', (o) => o.totalMs);
  const fl = m('floor', (o) => o.totalMs);
  console.log('');
  console.log(`| pipeline (median of ${runs}) | total s | instances/s | MB/s | last C-STORE → last stored s | peak RSS MB |`);
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, k] of [['gateway', 'gateway'], ['two Orthancs (/anonymize + peer)', 'reference'], ['floor: POST to research Orthanc', 'floor']] as const) {
    const total = m(k, (o) => o.totalMs);
    const after = k === 'floor' ? '–' : seconds(m(k, (o) => o.afterLastStoreMs));
    const rss = k === 'gateway' ? Math.max(...results.gateway!.map((o) => o.peakRssMb ?? 0)).toFixed(0) : '–';
    console.log(`| ${name} | ${seconds(total)} | ${(files.length / (total / 1000)).toFixed(2)} | ${(totalMb / (total / 1000)).toFixed(1)} | ${after} | ${rss} |`);
  }
  console.log('');
  const gatewayRuns = results.gateway!;
  console.log(`gateway runs (median): gateway CPU ${median(gatewayRuns.map((o) => o.gatewayCpuS!)).toFixed(2)} s, machine idle ${median(gatewayRuns.map((o) => o.idleS!)).toFixed(2)} s of ${((os.cpus().length * g) / 1000).toFixed(2)} core-seconds`);
  console.log(`gateway / reference: ${(g / r).toFixed(2)} (target ≤ 0.5)   gateway / floor: ${(g / fl).toFixed(2)} (target ≤ 1.2)`);
  fs.rmSync(data.dir, { recursive: true, force: true });
}

await main();
