import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { echoscu } from '../support/dicom-tools';
import { memoryCap, type MemoryCap } from '../support/memory-cap';
import { cStore, echoesWhile, openAssociation, openEchoAssociation } from '../support/dimse-probe';
import { DEFLATED_LE, EXPLICIT_LE, datasetOf, writeDeflateBomb, writeManyElements, writeNestedValue } from '../fixtures/memory-bombs';

/**
 * The gateway (runner and tsx together) runs in a memory cgroup of 512 MB and a V8 heap of 256 MB. Before the limits
 * it took 2.1 GB for one deflate bomb, 734 MB for a 200 MB value in a sequence and 1.3 GB for 3 million elements.
 */
const CAP_BYTES = 512 * 1024 ** 2;
const HEAP_MB = 256;
/** C-ECHOs answered, one after another, while a bomb is handled: a port held up by a synchronous parse answers none. */
const MIN_ECHOES = 3;

describe('memory bombs: memory follows the limits, not the input, and the port keeps answering', () => {
  let gateway: GatewayProcess;
  let port: number;
  let cap: MemoryCap;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bombs-'));

  beforeAll(async () => {
    port = await freePort();
    cap = memoryCap('deid-bombs', CAP_BYTES);
    if (cap.reason) console.warn(`memory bombs: running without a hard memory cap: ${cap.reason}`);
    gateway = await startGateway(
      { intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] }, limits: { idleTimeoutSeconds: 120 } },
      { env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` }, wrap: cap.wrap },
    );
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    cap?.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const spoolDir = (): string => path.join(gateway.dataDir, 'spool');
  /** Resolves when a received instance is complete in the spool (its data all read), or when `answer` comes first. */
  const spooled = (answer: Promise<unknown>): Promise<unknown> =>
    Promise.race([answer, waitFor('a complete spool file', () => fs.readdirSync(spoolDir()).some((f) => /^[0-9a-f-]+\.dcm$/.test(f)) || undefined, 600_000, 5)]);
  const alive = (): void => {
    expect(gateway.child.exitCode, gateway.output().slice(-2000)).toBeNull();
    expect(gateway.child.signalCode).toBeNull();
    expect(cap.oomKills()).toBe(0);
  };

  it('answers three deflate bombs (1 MB → 1 GB each) at once with 0xA700 and the limit, C-ECHOs answered meanwhile', async () => {
    const bomb = await writeDeflateBomb(path.join(scratch, 'bomb.dcm'), '1.2.826.0.1.3680043.10.543.71', 1024 ** 3);
    expect(bomb.length).toBeLessThan(1.2 * 1024 ** 2);
    const echo = await openEchoAssociation(port);
    const senders = await Promise.all([0, 1, 2].map(() => openAssociation(port, DEFLATED_LE)));
    const stores = senders.map((conn, i) => cStore(conn, `1.2.826.0.1.3680043.10.543.71.${i}`, bomb));
    const answers = Promise.all(stores.map((s) => s.answer));
    const echoes = echoesWhile(echo, spooled(Promise.race(stores.map((s) => s.answer))), Promise.race(stores.map((s) => s.answer)));
    for (const answer of await answers) expect(answer).toEqual({ status: 0xa700, errorComment: 'Inflates past limits.maxInflatedBytes (268435456 bytes)' });
    expect(await echoes).toBeGreaterThanOrEqual(MIN_ECHOES);
    alive();
    // The association goes on: the next request on it is answered.
    expect((await cStore(senders[0]!, '1.2.826.0.1.3680043.10.543.71.9', bomb).answer).status).toBe(0xa700);
    expect(fs.readdirSync(spoolDir()).filter((f) => f.endsWith('.inflated'))).toEqual([]);
    for (const conn of [echo, ...senders]) conn.close();
  }, 600_000);

  it('takes a 200 MB value inside a sequence without loading it, and de-identifies it without it', async () => {
    const file = path.join(scratch, 'nested.dcm');
    writeNestedValue(file, '1.2.826.0.1.3680043.10.543.72', 200 * 1024 ** 2);
    const dataset = datasetOf(file);
    fs.rmSync(file);
    const conn = await openAssociation(port, EXPLICIT_LE);
    expect((await cStore(conn, '1.2.826.0.1.3680043.10.543.72', dataset).answer).status).toBe(0x0000);
    conn.close();
    // De-identified into the outbox (no destination is set): the nested value removed, the instance a few KB.
    const outbox = path.join(gateway.dataDir, 'outbox');
    const written = await waitFor('the de-identified instance', () => fs.readdirSync(outbox).find((f) => f.endsWith('.dcm')), 300_000);
    expect(fs.statSync(path.join(outbox, written)).size).toBeLessThan(64 * 1024);
    alive();
  }, 600_000);

  it('refuses 3 million tiny elements (a 36 MB data set) with 0xA700 at the element limit, C-ECHOs answered meanwhile', async () => {
    const file = path.join(scratch, 'many.dcm');
    writeManyElements(file, '1.2.826.0.1.3680043.10.543.73', 3_000_000);
    const dataset = datasetOf(file);
    const echo = await openEchoAssociation(port);
    const conn = await openAssociation(port, EXPLICIT_LE);
    const store = cStore(conn, '1.2.826.0.1.3680043.10.543.73', dataset);
    const echoes = echoesWhile(echo, spooled(store.answer), store.answer);
    expect(await store.answer).toEqual({ status: 0xa700, errorComment: 'More attributes than limits.maxElementsPerInstance (200000)' });
    expect(await echoes).toBeGreaterThanOrEqual(MIN_ECHOES);
    alive();
    expect((await echoscu(port)).code).toBe(0);
    for (const c of [echo, conn]) c.close();
  }, 600_000);
});
