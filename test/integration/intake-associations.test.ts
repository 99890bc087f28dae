import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { echoscu, generateMammograms, type ManifestFile } from '../support/dicom-tools';
import { backlogOf, readGatewayStore, sopUidsAt, storescuReport } from '../support/load';
import {
  CT_IMAGE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  MG_FOR_PRESENTATION,
  RawConnection,
  VERIFICATION,
  acceptedContexts,
  associate,
  associateRq,
  associateRqWith,
  cEchoRaw,
  cStorePdus,
  cStoreRaw,
  datasetOfFile,
  pData,
  release,
  type ContextProposal,
} from '../support/raw-scu';

const SMALL = ['--patients', '3', '--studies-per-patient', '2', '--views', '4', '--rows', '64', '--cols', '64', '--no-verify'];
const A_ASSOCIATE_AC = 0x02;
const A_ASSOCIATE_RJ = 0x03;
const A_ABORT = 0x07;
/** A short idle timeout and PDU deadline so the slow-sender cases run in seconds; the rules are the same at 60 s. */
const IDLE_SECONDS = 2;
const SLOTS = 8;

const mg = (id: number): ContextProposal => ({ id, abstract: MG_FOR_PRESENTATION, syntaxes: [EXPLICIT_LE, IMPLICIT_LE] });

describe('association layer (PS3.8): context IDs as proposed, refusals that hold, slow senders that cannot hold the slots', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let port: number;
  let set: { dir: string; files: ManifestFile[] };
  let sample: { dataset: Buffer; syntax: string };
  const fileAt = (i: number): string => path.join(set.dir, set.files[i]!.file);
  let nextFile = 0;
  const takeFiles = (n: number): string[] => Array.from({ length: n }, () => fileAt(nextFile++));
  /** Instances the good senders got acknowledged; everything at Orthanc must be one of these. */
  let acknowledgedGood = 0;

  beforeAll(async () => {
    [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '1515']), freePort()]);
    gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: ['MAMMO_UNIT', 'RAW_SCU'] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      limits: { idleTimeoutSeconds: IDLE_SECONDS, pduTimeoutSeconds: IDLE_SECONDS, maxAssociations: SLOTS },
    });
    sample = datasetOfFile(fileAt(set.files.length - 1));
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
  });

  const expectAlive = async (): Promise<void> => {
    expect(gateway.child.exitCode).toBeNull();
    expect((await echoscu(port, { callingAe: 'MAMMO_UNIT' })).code).toBe(0);
  };

  it('keeps the requester\'s context IDs (1, 5, 3 and 3, 1), aborts duplicate, even, zero and 1,000 contexts, and stays up for a concurrent storescu', async () => {
    const good = takeFiles(8);
    const results: Record<string, unknown> = {};
    const hostile = (async () => {
      // Ascending but gapped, then out of order: both associate, each answer under the proposed ID.
      const gapped = await RawConnection.open(port);
      gapped.send(associateRqWith('DEID_GW', 'RAW_SCU', [{ id: 1, abstract: VERIFICATION, syntaxes: [IMPLICIT_LE] }, { id: 5, abstract: CT_IMAGE, syntaxes: [EXPLICIT_LE] }, { id: 3, abstract: MG_FOR_PRESENTATION, syntaxes: [sample.syntax] }]));
      const ac = await gapped.nextPdu();
      results.gappedType = ac?.type;
      results.gappedContexts = ac && acceptedContexts(ac.body);
      results.gappedEcho = await cEchoRaw(gapped, 1);
      results.gappedStore = await cStoreRaw(gapped, '1.2.826.0.1.3680043.10.15.1', sample.dataset, 3);
      results.gappedRelease = await release(gapped);
      gapped.close();

      const reversed = await RawConnection.open(port);
      reversed.send(associateRqWith('DEID_GW', 'RAW_SCU', [mg(3), { id: 1, abstract: VERIFICATION, syntaxes: [IMPLICIT_LE] }]));
      const reversedAc = await reversed.nextPdu();
      results.reversedContexts = reversedAc && acceptedContexts(reversedAc.body).map((c) => c.id);
      results.reversedEcho = await cEchoRaw(reversed, 1);
      await release(reversed);
      reversed.close();

      // Invalid IDs: answered with an A-ABORT and the connection closed by the gateway.
      const invalid: Record<string, ContextProposal[]> = {
        'duplicate (1, 255, 1)': [mg(1), mg(255), mg(1)],
        'even (2)': [mg(2)],
        'zero': [mg(0)],
        '1,000 contexts': Array.from({ length: 1000 }, (_, i) => mg((2 * i + 1) % 256)),
      };
      for (const [name, contexts] of Object.entries(invalid)) {
        const conn = await RawConnection.open(port);
        conn.send(associateRqWith('DEID_GW', 'RAW_SCU', contexts));
        results[name] = { answer: (await conn.nextPdu())?.type, closed: await conn.closedWithin(5000) };
      }

      // Data on a context that was rejected (abstract syntax not supported): aborted, nothing stored.
      const rejectedContext = await RawConnection.open(port);
      rejectedContext.send(associateRqWith('DEID_GW', 'RAW_SCU', [mg(1), { id: 3, abstract: '1.2.3.4.5', syntaxes: [EXPLICIT_LE] }]));
      const answer = await rejectedContext.nextPdu();
      results.rejectedContextResults = answer && acceptedContexts(answer.body).map((c) => [c.id, c.result]);
      for (const p of cStorePdus('1.2.826.0.1.3680043.10.15.2', sample.dataset, 3)) rejectedContext.send(p);
      results.rejectedContext = { answer: (await rejectedContext.nextPdu())?.type, closed: await rejectedContext.closedWithin(5000) };

      // P-DATA before any association request.
      const early = await RawConnection.open(port);
      for (const p of cStorePdus('1.2.826.0.1.3680043.10.15.3', sample.dataset, 1)) early.send(p);
      results.early = { answer: (await early.nextPdu())?.type, closed: await early.closedWithin(5000) };
    })();
    const [report] = await Promise.all([storescuReport(port, good), hostile]);

    expect(results.gappedType).toBe(A_ASSOCIATE_AC);
    expect(results.gappedContexts).toEqual([
      { id: 1, result: 0, syntax: IMPLICIT_LE },
      { id: 5, result: 0, syntax: EXPLICIT_LE },
      { id: 3, result: 0, syntax: sample.syntax },
    ]);
    expect(results.gappedEcho).toBe(0x0000);
    expect(results.gappedStore).toBe(0x0000);
    expect(results.gappedRelease).toBe(0x06); // A-RELEASE-RP
    expect(results.reversedContexts).toEqual([3, 1]);
    expect(results.reversedEcho).toBe(0x0000);
    for (const name of ['duplicate (1, 255, 1)', 'even (2)', 'zero', '1,000 contexts']) expect(results[name], name).toEqual({ answer: A_ABORT, closed: true });
    expect(results.rejectedContextResults).toEqual([[1, 0], [3, 3]]);
    expect(results.rejectedContext).toEqual({ answer: A_ABORT, closed: true });
    expect(results.early).toEqual({ answer: A_ABORT, closed: true });

    expect(report.acknowledged.length).toBe(good.length);
    acknowledgedGood += good.length + 1; // and the instance stored on context 3
    await expectAlive();
    const rows = readGatewayStore(gateway.dataDir, gateway.databaseKey).rows.map((r) => r.sop_instance_uid);
    expect(rows).toContain('1.2.826.0.1.3680043.10.15.1');
    expect(rows).not.toContain('1.2.826.0.1.3680043.10.15.2');
    expect(rows).not.toContain('1.2.826.0.1.3680043.10.15.3');
    const log = gateway.output();
    expect(log).toMatch(/association aborted .*"code":"bad-presentation-context".*proposed twice/);
    expect(log).toMatch(/association aborted .*"code":"context-not-accepted"/);
    expect(log).toMatch(/association aborted .*"code":"unexpected-pdu".*data before an association was accepted/);
    expect(log).not.toMatch(/internal error|RangeError|TypeError/);
  });

  it('aborts a C-STORE whose command set carries an over-long UID, and the UID never reaches the log', async () => {
    const longUid = `1.2.826.0.1.3680043.10.15.${'4'.repeat(60)}`;
    const conn = await RawConnection.open(port);
    expect((await associate(conn, 'DEID_GW', sample.syntax, 'RAW_SCU')).type).toBe(A_ASSOCIATE_AC);
    for (const p of cStorePdus(longUid, sample.dataset, 1)) conn.send(p);
    expect((await conn.nextPdu())?.type).toBe(A_ABORT);
    expect(await conn.closedWithin(5000)).toBe(true);
    expect(gateway.output()).toMatch(/association aborted .*"code":"malformed-command".*longer than 64 characters/);
    expect(gateway.output()).not.toContain('4444444444');
    await expectAlive();
  });

  it('stores nothing sent after an A-ASSOCIATE-RJ (wrong called AE, calling AE not allowed, over the limit) and closes the connection', async () => {
    const attempt = async (calledAe: string, callingAe: string, uid: string): Promise<{ answer?: number; afterwards?: number; closed: boolean }> => {
      const conn = await RawConnection.open(port);
      // The request and a C-STORE at once, as a client that never waits for the answer would send them.
      conn.send(associateRq(calledAe, callingAe, sample.syntax));
      for (const p of cStorePdus(uid, sample.dataset, 1)) conn.send(p);
      const answer = (await conn.nextPdu())?.type;
      // And again after the rejection, ignoring it.
      for (const p of cStorePdus(uid, sample.dataset, 1)) conn.send(p);
      const afterwards = (await conn.nextPdu().catch(() => ({ type: -1 })))?.type;
      return { answer, afterwards, closed: await conn.closedWithin(5000) };
    };
    const wrongCalled = await attempt('NOT_THE_GW', 'RAW_SCU', '1.2.826.0.1.3680043.10.15.10');
    const notAllowed = await attempt('DEID_GW', 'INTRUDER', '1.2.826.0.1.3680043.10.15.11');
    // Every slot taken by a good association, then one more.
    const holders = await Promise.all(Array.from({ length: SLOTS }, () => RawConnection.open(port)));
    for (const h of holders) expect((await associate(h, 'DEID_GW', EXPLICIT_LE, 'RAW_SCU')).type).toBe(A_ASSOCIATE_AC);
    const overLimit = await attempt('DEID_GW', 'RAW_SCU', '1.2.826.0.1.3680043.10.15.12');
    for (const h of holders) {
      await release(h);
      h.close();
    }

    for (const outcome of [wrongCalled, notAllowed, overLimit]) expect(outcome).toEqual({ answer: A_ASSOCIATE_RJ, afterwards: undefined, closed: true });
    const log = gateway.output();
    expect(log).toMatch(/association rejected: called AE title does not match; any data sent on it is refused and the connection closed/);
    expect(log).toMatch(/association rejected: calling AE title not allowed; any data sent on it is refused/);
    expect(log).toMatch(/association rejected: too many associations at once; any data sent on it is refused/);

    // Nothing of theirs anywhere: no job, no outbox file once the good backlog is delivered, nothing at Orthanc.
    await waitFor('backlog delivered', () => (backlogOf(readGatewayStore(gateway.dataDir, gateway.databaseKey).counts) === 0 ? true : undefined), 60_000, 200);
    const store = readGatewayStore(gateway.dataDir, gateway.databaseKey);
    for (const uid of ['10', '11', '12']) expect(store.rows.map((r) => r.sop_instance_uid)).not.toContain(`1.2.826.0.1.3680043.10.15.${uid}`);
    // Outbox files are named after their job (kept for the retention period): one per good instance, no more.
    expect(fs.readdirSync(path.join(gateway.dataDir, 'outbox')).length).toBe(acknowledgedGood);
    const atOrthanc = await sopUidsAt(orthanc);
    expect(atOrthanc.size).toBe(acknowledgedGood);
    await expectAlive();
  });

  /**
   * Fills every slot with a slow peer, shows storescu is turned away, waits until the gateway has closed every slow
   * peer, then shows storescu gets in. Prints how long the good modality was locked out.
   */
  async function lockedOutFor(kind: string, slowPeer: (conn: RawConnection) => Promise<void>): Promise<void> {
    const peers = await Promise.all(Array.from({ length: SLOTS }, () => RawConnection.open(port)));
    for (const p of peers) expect((await associate(p, 'DEID_GW', sample.syntax, 'RAW_SCU')).type).toBe(A_ASSOCIATE_AC);
    const full = Date.now();
    const dripping = peers.map((p) => slowPeer(p));
    const file = takeFiles(1);
    const turnedAway = await storescuReport(port, file);
    expect(turnedAway.acknowledged, 'every slot is held, so storescu is rejected').toEqual([]);
    expect(turnedAway.output).toMatch(/Association Rejected|Local limit exceeded|rejected/i);
    // The gateway, not the peer, ends each slow association.
    for (const p of peers) expect(await p.closedWithin(4 * IDLE_SECONDS * 1000)).toBe(true);
    const freed = Date.now();
    const admitted = await storescuReport(port, file);
    const inAt = Date.now();
    expect(admitted.acknowledged).toEqual(file.map((f) => path.resolve(f)));
    acknowledgedGood += 1;
    await Promise.all(dripping);
    console.log(`slow senders (${kind}, ${SLOTS} peers, idle timeout ${IDLE_SECONDS} s): slots freed after ${((freed - full) / 1000).toFixed(2)} s, good modality in after ${((inAt - full) / 1000).toFixed(2)} s`);
  }

  it('aborts eight connections trickling a PDU one byte at a time, and the good modality gets in', async () => {
    const before = gateway.output().match(/PDU not complete within/g)?.length ?? 0;
    await lockedOutFor('trickle', (conn) => conn.trickle(pData(1, true, true, Buffer.alloc(200)), 250));
    expect((gateway.output().match(/PDU not complete within 2 s/g)?.length ?? 0) - before).toBe(SLOTS);
  });

  it('aborts eight associations that start a C-STORE and go silent, and the good modality gets in', async () => {
    const before = gateway.output().match(/"code":"idle"/g)?.length ?? 0;
    await lockedOutFor('stalled C-STORE', async (conn) => {
      conn.send(cStorePdus('1.2.826.0.1.3680043.10.15.20', Buffer.alloc(0))[0]!);
      // Not the last fragment: the instance is never finished.
      conn.send(pData(1, false, false, sample.dataset.subarray(0, 1024)));
    });
    expect((gateway.output().match(/"code":"idle"/g)?.length ?? 0) - before).toBe(SLOTS);
    expect(fs.readdirSync(path.join(gateway.dataDir, 'spool')).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('aborts eight associations sending whole small PDUs below the minimum rate, and the good modality gets in', async () => {
    const before = gateway.output().match(/"code":"too-slow"/g)?.length ?? 0;
    await lockedOutFor('slow drip', async (conn) => {
      conn.send(cStorePdus('1.2.826.0.1.3680043.10.15.21', Buffer.alloc(0))[0]!);
      // A complete 100-byte PDU twice per idle timeout: never idle, never a late PDU, far below 32 KiB/s.
      while (!conn.closed) {
        conn.send(pData(1, false, false, Buffer.alloc(100)));
        await new Promise((r) => setTimeout(r, (IDLE_SECONDS * 1000) / 2));
      }
    });
    expect((gateway.output().match(/"code":"too-slow"/g)?.length ?? 0) - before).toBe(SLOTS);
    await expectAlive();
    expect(gateway.output()).not.toMatch(/internal error|RangeError|TypeError/);
  });
});
