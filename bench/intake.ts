/**
 * Intake alone: the same files into the gateway's DICOM port (fsync before each acknowledgement, no
 * destination) and into dcmtk's storescp, on the same machine, in the same run.
 * Usage: npx tsx bench/intake.ts [--runs 3] [--files 20] [--size-mb 27]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/ports';
import { generate, intoStorescp, machineDescription, median, seconds, startBenchGateway, storescu } from './lib';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, files: { type: 'string', default: '20' }, 'size-mb': { type: 'string', default: '27' } } });
const runs = Number(values.runs);

async function intoGateway(files: string[]): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port } });
  try {
    const start = performance.now();
    await storescu(port, files, 'DEID_GW');
    return { ms: performance.now() - start, rss: gateway.peakRssMb() };
  } finally {
    await gateway.stop();
  }
}

async function main(): Promise<void> {
  console.log(`machine: ${machineDescription()}`);
  const data = await generate(['--size-mb', String(values['size-mb']), '--patients', '3', '--studies-per-patient', '2', '--views', '4']);
  const files = data.files.slice(0, Number(values.files));
  const totalMb = files.reduce((s, f) => s + fs.statSync(f).size, 0) / 1e6;
  const gw: number[] = [];
  const rss: number[] = [];
  const scp: number[] = [];
  for (let i = 0; i < runs; i++) {
    const g = await intoGateway(files);
    gw.push(g.ms);
    rss.push(g.rss);
    scp.push(await intoStorescp(files));
  }
  console.log(`| receiver (median of ${runs}, ${files.length} files, ${totalMb.toFixed(0)} MB) | s | MB/s | peak RSS MB |`);
  console.log('| --- | --- | --- | --- |');
  console.log(`| gateway intake (fsync before ack) | ${seconds(median(gw))} | ${(totalMb / (median(gw) / 1000)).toFixed(1)} | ${Math.max(...rss).toFixed(0)} |`);
  console.log(`| dcmtk storescp | ${seconds(median(scp))} | ${(totalMb / (median(scp) / 1000)).toFixed(1)} | – |`);
  console.log(`gateway / storescp: ${(median(gw) / median(scp)).toFixed(2)} (target ≤ 1.0)`);
  fs.rmSync(data.dir, { recursive: true, force: true });
}

await main();
