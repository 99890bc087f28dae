/**
 * Peak RSS of the gateway (the bundled headless runner) under each memory bomb of issue 15, and the C-ECHO latency
 * while it is handled: a C-ECHO is sent on an open association, one after another, from the moment the bomb's data
 * starts until its C-STORE is answered. A fresh gateway per case, so each peak is that bomb's alone.
 *
 *   npx tsx bench/memory-bombs.ts [--cases deflate,deflate3,nested,many]
 *
 * Target (issue 15): gateway peak RSS under 300 MB; every C-ECHO answered within 1 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/ports';
import { cEcho, cStore, openAssociation, openEchoAssociation } from '../test/support/dimse-probe';
import { DEFLATED_LE, EXPLICIT_LE, datasetOf, writeDeflateBomb, writeManyElements, writeNestedValue } from '../test/fixtures/memory-bombs';
import { machineDescription, median, startBenchGateway } from './lib';

const { values } = parseArgs({ options: { cases: { type: 'string', default: 'deflate,deflate3,nested,many' } } });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bombs-'));

interface Case {
  name: string;
  what: string;
  syntax: string;
  copies: number;
  dataset: () => Promise<Buffer>;
}

const CASES: Case[] = [
  { name: 'deflate', what: 'deflate bomb, 1 MB → 1 GiB', syntax: DEFLATED_LE, copies: 1, dataset: () => writeDeflateBomb(path.join(scratch, 'bomb.dcm'), '1.2.826.0.1.3680043.10.543.81', 1024 ** 3) },
  { name: 'deflate3', what: 'three deflate bombs at once', syntax: DEFLATED_LE, copies: 3, dataset: () => writeDeflateBomb(path.join(scratch, 'bomb.dcm'), '1.2.826.0.1.3680043.10.543.82', 1024 ** 3) },
  {
    name: 'nested',
    what: '200 MB value inside a sequence',
    syntax: EXPLICIT_LE,
    copies: 1,
    dataset: async () => {
      writeNestedValue(path.join(scratch, 'nested.dcm'), '1.2.826.0.1.3680043.10.543.83', 200 * 1024 ** 2);
      return datasetOf(path.join(scratch, 'nested.dcm'));
    },
  },
  {
    name: 'many',
    what: '3 million tiny elements (36 MB)',
    syntax: EXPLICIT_LE,
    copies: 1,
    dataset: async () => {
      writeManyElements(path.join(scratch, 'many.dcm'), '1.2.826.0.1.3680043.10.543.84', 3_000_000);
      return datasetOf(path.join(scratch, 'many.dcm'));
    },
  },
];

console.log(machineDescription());
console.log('| case | answer | handled in s | gateway RSS at start MB | peak RSS MB | C-ECHOs | median C-ECHO ms | worst C-ECHO ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const c of CASES.filter((c) => values.cases!.split(',').includes(c.name))) {
  const dataset = await c.dataset();
  const port = await freePort();
  const gateway = await startBenchGateway({ intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] }, limits: { idleTimeoutSeconds: 600 } });
  try {
    const atStart = gateway.peakRssMb();
    const echo = await openEchoAssociation(port);
    const senders = await Promise.all(Array.from({ length: c.copies }, () => openAssociation(port, c.syntax)));
    const started = Date.now();
    const stores = senders.map((conn, i) => cStore(conn, `1.2.826.0.1.3680043.10.543.9.${i}`, dataset));
    const all = Promise.all(stores.map((s) => s.answer));
    let done = false;
    void all.finally(() => (done = true));
    const latencies: number[] = [];
    while (!done) {
      const t = Date.now();
      await cEcho(echo);
      latencies.push(Date.now() - t);
    }
    const answers = await all;
    const handled = (Date.now() - started) / 1000;
    // The pipeline may still be de-identifying an accepted instance: its peak counts too.
    if (answers.some((a) => a.status === 0)) await new Promise((r) => setTimeout(r, 5000));
    const peak = gateway.peakRssMb();
    const answer = [...new Set(answers.map((a) => `0x${a.status.toString(16).padStart(4, '0')}${a.errorComment ? ` "${a.errorComment}"` : ''}`))].join(', ');
    console.log(`| ${c.what} | ${answer} | ${handled.toFixed(1)} | ${atStart.toFixed(0)} | ${peak.toFixed(0)} | ${latencies.length} | ${median(latencies).toFixed(0)} | ${Math.max(...latencies).toFixed(0)} |`);
    for (const conn of [echo, ...senders]) conn.close();
  } finally {
    await gateway.stop();
  }
}
fs.rmSync(scratch, { recursive: true, force: true });
