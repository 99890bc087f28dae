import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrthanc } from '../support/orthanc';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms, storescu } from '../support/dicom-tools';
import { sopUidsAt } from '../support/load';
import { createGateway, type GatewayOptions } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { parseInstanceFile, stringValue, tagOf } from '../../src/main/core/dicom';
import { GatewaySettings } from '../../src/shared/settings';
import type { InstanceEvent } from '../../src/shared/domain';
import { CSTORE_STATUS_ONLY } from '../../src/main/core/upload';
import { spawn } from 'node:child_process';

const SMALL = ['--patients', '1', '--studies-per-patient', '2', '--views', '2', '--rows', '64', '--cols', '64', '--no-verify'];
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** A gateway in this process (the core API), on a temp data folder; the log kept in memory. */
async function inProcessGateway(settings: Record<string, unknown>, testHooks?: GatewayOptions['testHooks']) {
  const lines: string[] = [];
  const gateway = createGateway({
    settings: GatewaySettings.parse(settings),
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gw-verify-')),
    databaseKey: crypto.randomBytes(32).toString('hex'),
    logger: createLogger({ sink: (line) => lines.push(line) }),
    testHooks,
  });
  const events: InstanceEvent[] = [];
  gateway.on('instance', (e) => events.push(e));
  await gateway.start();
  return { gateway, events, log: () => lines.join('\n') };
}

const studiesOf = (events: InstanceEvent[]): string[] => [...new Set(events.map((e) => e.researchStudyUid).filter((u): u is string => !!u))];

// Orthanc logs each REST request through this filter, so a test can count the uploads it received.
const COUNT_UPLOADS_LUA = `function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  if method == 'POST' and uri == '/instances' then print('upload received') end
  return true
end`;

describe('trust but verify: residual check before upload, delivery confirmed after', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('a deliberately weakened profile (one identifying attribute kept) holds that instance, names the attribute not the value, and its study stays incomplete', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '1212']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const files = set.files.map((f) => path.join(set.dir, f.file));
    const weakened = set.files[0]!.sopInstanceUID;
    const original = parseInstanceFile(files[0]!);
    const motherName = stringValue(original.dataset, tagOf('PatientMotherBirthName'))!;
    original.close();
    expect(motherName.length).toBeGreaterThan(3);
    const { gateway, events, log } = await inProcessGateway(
      { intake: { port }, destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password } },
      {
        // The defect under test: Patient's Mother's Birth Name kept as it was, in one instance only.
        alterOutput(output, input) {
          if (stringValue(input, tagOf('SOPInstanceUID')) !== weakened) return;
          output.set(tagOf('PatientMotherBirthName'), input.get(tagOf('PatientMotherBirthName'))!);
        },
      },
    );
    cleanup.push(() => gateway.stop());
    await storescu(port, files);
    await waitFor('3 delivered, 1 held', () => (gateway.counts().uploaded === 3 && gateway.counts().held === 1 ? true : undefined), 30_000, 100);

    const held = events.find((e) => e.state === 'held')!;
    expect(held.error).toMatch(/^Residual identifying data in the de-identified file at PatientMotherBirthName \(a de-identification profile defect; nothing was sent\)$/);
    expect(log()).toMatch(/profile defect: instance \d+ still carries identifying data/);
    expect(log()).not.toContain(motherName);
    for (const part of motherName.split('^').filter((p) => p.length > 3)) expect(log()).not.toContain(part);
    // Nothing of the held instance reached the research server.
    expect((await sopUidsAt(orthanc)).size).toBe(3);

    const heldStudy = held.researchStudyUid;
    const progress = gateway.studyProgress(heldStudy!)!;
    expect(progress).toMatchObject({ received: 2, deidentified: 1, delivered: 1, withheld: 1, residualPhiHolds: 1, complete: false, completedAt: null });
    const other = studiesOf(events).find((u) => u !== heldStudy)!;
    expect(gateway.studyProgress(other)).toMatchObject({ received: 2, deidentified: 2, delivered: 2, withheld: 0, complete: true });
  });

  it('confirms each delivery at Orthanc by SOP Instance UID, transfer syntax, size and MD5; an instance deleted at the research side is found missing by recheckDelivery and sent again', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '1313']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({ intake: { port }, destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password } });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const deliveries = events.filter((e) => e.state === 'uploaded').map((e) => e.delivery);
    expect(deliveries).toEqual(Array(set.files.length).fill('Orthanc REST: SOP Instance UID, transfer syntax, size, MD5'));

    expect(await gateway.recheckDelivery()).toEqual({ checked: 4, present: 4, unverifiable: 0, requeued: 0, missing: 0, mismatched: 0 });
    // The research site loses one instance.
    const [lost] = await orthanc.api<string[]>('/instances');
    const lostUid = (await orthanc.api<{ SOPInstanceUID: string }>(`/instances/${lost}/simplified-tags`)).SOPInstanceUID;
    await orthanc.api(`/instances/${lost}`, { method: 'DELETE' });
    expect(await gateway.recheckDelivery()).toEqual({ checked: 4, present: 3, unverifiable: 0, requeued: 1, missing: 0, mismatched: 0 });
    await waitFor('sent again', async () => ((await sopUidsAt(orthanc)).get(lostUid) === 1 ? true : undefined), 30_000, 100);
    await waitFor('all delivered again', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    for (const u of studiesOf(events)) expect(gateway.studyProgress(u)?.complete, u).toBe(true);
    expect([...(await sopUidsAt(orthanc)).values()].every((n) => n === 1)).toBe(true);
  });

  it('without kept files a missing instance is failed with a reason that says to send it again from the modality', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--studies-per-patient', '1', '--seed', '1414']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({
      intake: { port },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      retention: { spoolHours: 0, outboxHours: 0 },
    });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const [lost] = await orthanc.api<string[]>('/instances');
    await orthanc.api(`/instances/${lost}`, { method: 'DELETE' });
    const [study] = studiesOf(events);
    expect(await gateway.recheckDelivery(study)).toMatchObject({ checked: 2, present: 1, requeued: 0, missing: 1 });
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: expect.stringMatching(/no copy of it is left here .*send the study again from the modality or PACS/) });
    expect(gateway.studyProgress(study!)).toMatchObject({ received: 2, delivered: 1, complete: false });
  });

  it('a resend of a completed study still at the server uploads nothing and reports "already present"', async () => {
    const [orthanc, set, port] = await Promise.all([
      startOrthanc({ extraConfig: { LuaScripts: [writeLua(COUNT_UPLOADS_LUA)] } }),
      generateMammograms([...SMALL, '--studies-per-patient', '1', '--seed', '1515']),
      freePort(),
    ]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events, log } = await inProcessGateway({ intake: { port }, destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password } });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const uploads = () => orthanc.log().split('\n').filter((l) => l.includes('upload received')).length;
    // The instances, and the start-up check's empty upload.
    const delivered = uploads();
    expect(delivered).toBeGreaterThanOrEqual(set.files.length);

    const [study] = studiesOf(events);
    const before = events.length;
    expect(gateway.resendStudy(study!)).toEqual({ queued: set.files.length, missing: 0 });
    await waitFor('resend settled', () => (gateway.studyProgress(study!)?.complete ? true : undefined), 30_000, 100);
    const resent = events.slice(before).filter((e) => e.state === 'uploaded');
    expect(resent.map((e) => e.delivery)).toEqual(Array(set.files.length).fill('already present (Orthanc REST: SOP Instance UID, transfer syntax, size, MD5)'));
    expect(uploads()).toBe(delivered);
    expect(log()).toMatch(/already present at the research server: not uploaded again/);
  });

  it('a different file under the same SOP Instance UID at the server is a mismatch: failed with a readable reason', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--studies-per-patient', '1', '--views', '1', '--seed', '1616']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({ intake: { port }, destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password } });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('delivered', () => (gateway.counts().uploaded === 1 ? true : undefined), 30_000, 100);
    // The research side replaces the file with an edited one that keeps the UIDs.
    const [id] = await orthanc.api<string[]>('/instances');
    const modify = await fetch(`${orthanc.url}/instances/${id}/modify`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${orthanc.username}:${orthanc.password}`).toString('base64')}` },
      body: JSON.stringify({ Replace: { StudyDescription: 'edited at the research site' }, Keep: ['SOPInstanceUID'], Force: true }),
    });
    expect(modify.status).toBe(200);
    const edited = Buffer.from(await modify.arrayBuffer());
    await orthanc.api(`/instances/${id}`, { method: 'DELETE' });
    await orthanc.api('/instances', { method: 'POST', body: edited });
    const [study] = studiesOf(events);
    expect(await gateway.recheckDelivery(study)).toMatchObject({ checked: 1, mismatched: 1 });
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: expect.stringMatching(/^Research server holds (this instance with a different size \(\d+ bytes, sent \d+\)|a different file under this SOP Instance UID \(MD5 differs\)): ask the research site/) });
    expect(gateway.studyProgress(study!)?.complete).toBe(false);
  });

  it('DICOMweb: each delivery is confirmed with a QIDO-RS query by Study and SOP Instance UID', async () => {
    const [orthanc, set, port] = await Promise.all([
      startOrthanc({ extraConfig: { Plugins: [DICOMWEB_PLUGIN], DicomWeb: { Enable: true, Root: '/dicom-web/' } } }),
      generateMammograms([...SMALL, '--studies-per-patient', '1', '--seed', '1717']),
      freePort(),
    ]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({ intake: { port }, destination: { type: 'dicomweb', url: `${orthanc.url}/dicom-web`, username: orthanc.username, password: orthanc.password } });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    expect(events.filter((e) => e.state === 'uploaded').map((e) => e.delivery)).toEqual(Array(set.files.length).fill(expect.stringMatching(/^QIDO-RS: SOP Instance UID, Study Instance UID/)));
    const [lost] = await orthanc.api<string[]>('/instances');
    await orthanc.api(`/instances/${lost}`, { method: 'DELETE' });
    expect(await gateway.recheckDelivery()).toMatchObject({ checked: 2, present: 1, requeued: 1 });
    await waitFor('sent again', async () => ((await sopUidsAt(orthanc)).size === set.files.length ? true : undefined), 30_000, 100);
  });

  it('DICOM C-STORE: confirmed with a C-FIND at IMAGE level where the destination answers one (Orthanc), "C-STORE status only" where not (storescp)', async () => {
    const [dicomPort, set, port] = await Promise.all([freePort(), generateMammograms([...SMALL, '--studies-per-patient', '1', '--seed', '1818']), freePort()]);
    const orthanc = await startOrthanc({ extraConfig: { DicomServerEnabled: true, DicomPort: dicomPort, DicomAet: 'RESEARCH', DicomAlwaysAllowFind: true, DicomAlwaysAllowStore: true, DicomCheckCalledAet: true } });
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({ intake: { port }, destination: { type: 'dimse', host: '127.0.0.1', port: dicomPort, calledAeTitle: 'RESEARCH', callingAeTitle: 'DEID_GW' } });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    expect(events.filter((e) => e.state === 'uploaded').map((e) => e.delivery)).toEqual(Array(set.files.length).fill('C-FIND: SOP Instance UID'));
    const [lost] = await orthanc.api<string[]>('/instances');
    await orthanc.api(`/instances/${lost}`, { method: 'DELETE' });
    expect(await gateway.recheckDelivery()).toMatchObject({ checked: 2, present: 1, requeued: 1 });
    await waitFor('sent again', async () => ((await sopUidsAt(orthanc)).size === set.files.length ? true : undefined), 30_000, 100);

    // dcmtk's storescp stores but answers no query: the delivery rests on the C-STORE status, and says so.
    const [scpPort, port2] = await Promise.all([freePort(), freePort()]);
    const scp = spawn('storescp', ['-aet', 'RESEARCH_SCP', '-od', fs.mkdtempSync(path.join(os.tmpdir(), 'storescp-')), String(scpPort)], { stdio: 'ignore' });
    cleanup.push(async () => scp.kill('SIGTERM'));
    const second = await inProcessGateway({ intake: { port: port2 }, destination: { type: 'dimse', host: '127.0.0.1', port: scpPort, calledAeTitle: 'RESEARCH_SCP', callingAeTitle: 'DEID_GW' } });
    cleanup.push(() => second.gateway.stop());
    await new Promise((r) => setTimeout(r, 300)); // storescp listening
    await storescu(port2, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all delivered to storescp', () => (second.gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    expect(second.events.filter((e) => e.state === 'uploaded').map((e) => e.delivery)).toEqual(Array(set.files.length).fill(CSTORE_STATUS_ONLY));
    expect(await second.gateway.recheckDelivery()).toMatchObject({ checked: 2, unverifiable: 2, requeued: 0 });
  });
});

function writeLua(source: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'orthanc-lua-')), 'filter.lua');
  fs.writeFileSync(file, source);
  return file;
}
