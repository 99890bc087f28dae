import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrthanc } from '../support/orthanc';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { generateMammograms, inspectDicom, storescu } from '../support/dicom-tools';
import { sopUidsAt } from '../support/load';
import { createGateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { GatewaySettings } from '../../src/shared/settings';
import type { InstanceEvent } from '../../src/shared/domain';
import { spawn } from 'node:child_process';

const SMALL = ['--patients', '1', '--studies-per-patient', '2', '--views', '2', '--rows', '64', '--cols', '64', '--no-verify'];
const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** A gateway in this process (the core API: resend, study progress), on a temp data folder; the log kept in memory. */
async function inProcessGateway(settings: Record<string, unknown>) {
  const lines: string[] = [];
  const parsed = GatewaySettings.parse(settings);
  const gateway = createGateway({
    settings: parsed,
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gw-core-')),
    databaseKey: crypto.randomBytes(32).toString('hex'),
    logger: createLogger({ sink: (line) => lines.push(line) }),
  });
  const events: InstanceEvent[] = [];
  gateway.on('instance', (e) => events.push(e));
  await gateway.start();
  return { gateway, settings: parsed, events, log: () => lines.join('\n') };
}

const studiesOf = (events: InstanceEvent[]): string[] => [...new Set(events.map((e) => e.researchStudyUid).filter((u): u is string => !!u))];

describe('destinations, permanent failures and manual resend', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('a 401 marks instances failed with a readable reason; after the password is fixed, resending all failed delivers them once; the study completes', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '606']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, settings, events, log } = await inProcessGateway({
      intake: { port },
      destination: { url: orthanc.url, username: orthanc.username, password: 'wrong-password' },
    });
    cleanup.push(() => gateway.stop());
    const files = set.files.map((f) => path.join(set.dir, f.file));
    await storescu(port, files);
    await waitFor('instances failed', () => (gateway.counts().failed === files.length ? true : undefined), 30_000, 100);
    const failed = events.find((e) => e.state === 'failed');
    expect(failed?.error).toBe('Research server rejected the upload: 401 Unauthorized (check the user name and password in Settings)');
    expect(log()).toMatch(/failed .*401 Unauthorized/);
    expect((await orthanc.api<string[]>('/instances')).length).toBe(0);
    const [studyA, studyB] = studiesOf(events);
    expect(gateway.studyProgress(studyA!)?.completedAt).toBeNull();

    // Stands in for the technologist correcting the password in Settings.
    settings.destination!.password = orthanc.password;
    expect(gateway.resendFailed({ researchStudyUid: studyA! })).toBe(2);
    await waitFor('study A uploaded', () => (gateway.studyProgress(studyA!)?.completedAt ? true : undefined), 30_000, 100);
    expect(gateway.studyProgress(studyB!)?.counts.failed).toBe(2);
    expect(gateway.resendFailed()).toBe(2);
    await waitFor('all uploaded', () => (gateway.counts().uploaded === files.length ? true : undefined), 30_000, 100);
    expect(gateway.studyProgress(studyB!)?.completedAt).not.toBeNull();
    expect((await sopUidsAt(orthanc)).size).toBe(files.length);
  });

  it('re-sends a completed study from the retained outbox copies (e.g. after the research server lost it), with the same UIDs', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--seed', '707']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({
      intake: { port },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all uploaded', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const before = await sopUidsAt(orthanc);
    const [study] = studiesOf(events);
    // The research site loses the study.
    const orthancStudy = (await orthanc.api<string[]>('/studies'))[0]!;
    const lost = (await orthanc.api<string[]>(`/studies/${orthancStudy}/instances`)).length;
    await orthanc.api(`/studies/${orthancStudy}`, { method: 'DELETE' });
    const orthancStudies = await orthanc.api<Array<{ MainDicomTags: { StudyInstanceUID: string } }>>('/studies?expand');
    const lostUid = [study, ...studiesOf(events)].find((u) => !orthancStudies.some((s) => s.MainDicomTags.StudyInstanceUID === u))!;
    expect(gateway.resendStudy(lostUid)).toEqual({ queued: lost, missing: 0 });
    await waitFor('study back at Orthanc', async () => ((await sopUidsAt(orthanc)).size === before.size ? true : undefined), 30_000, 100);
    expect([...(await sopUidsAt(orthanc)).keys()].sort()).toEqual([...before.keys()].sort());
    expect(gateway.studyProgress(lostUid)?.completedAt).not.toBeNull();
  });

  it('without outbox retention a completed study cannot be re-sent, and says how many instances are missing', async () => {
    const [orthanc, set, port] = await Promise.all([startOrthanc(), generateMammograms([...SMALL, '--studies-per-patient', '1', '--seed', '808']), freePort()]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({
      intake: { port },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      retention: { spoolHours: 0, outboxHours: 0 },
    });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all uploaded', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    expect(gateway.resendStudy(studiesOf(events)[0]!)).toEqual({ queued: 0, missing: set.files.length });
  });

  it('DICOMweb STOW-RS destination: delivers to Orthanc\'s DICOMweb plugin, a repeat is not a second copy', async () => {
    expect(fs.existsSync(DICOMWEB_PLUGIN), 'Debian package orthanc-dicomweb').toBe(true);
    const [orthanc, set, port] = await Promise.all([
      startOrthanc({ extraConfig: { Plugins: [DICOMWEB_PLUGIN], DicomWeb: { Enable: true, Root: '/dicom-web/' } } }),
      generateMammograms([...SMALL, '--seed', '909']),
      freePort(),
    ]);
    cleanup.push(() => orthanc.stop());
    const { gateway, events } = await inProcessGateway({
      intake: { port },
      destination: { type: 'dicomweb', url: `${orthanc.url}/dicom-web`, username: orthanc.username, password: orthanc.password },
    });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all uploaded', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    expect((await sopUidsAt(orthanc)).size).toBe(set.files.length);
    // Sending a study again (as after a crash) leaves one copy per instance.
    const [study] = studiesOf(events);
    expect(gateway.resendStudy(study!).queued).toBeGreaterThan(0);
    await waitFor('resent', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const counts = await sopUidsAt(orthanc);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(set.files.length);
  });

  it('DICOM C-STORE destination: delivers de-identified instances to dcmtk storescp', async () => {
    const [set, port, scpPort] = await Promise.all([generateMammograms([...SMALL, '--seed', '1010']), freePort(), freePort()]);
    const received = fs.mkdtempSync(path.join(os.tmpdir(), 'storescp-'));
    const scp = spawn('storescp', ['-aet', 'RESEARCH_SCP', '-od', received, String(scpPort)], { stdio: 'ignore' });
    cleanup.push(async () => scp.kill('SIGTERM'));
    const { gateway } = await inProcessGateway({
      intake: { port },
      destination: { type: 'dimse', host: '127.0.0.1', port: scpPort, calledAeTitle: 'RESEARCH_SCP', callingAeTitle: 'DEID_GW' },
    });
    cleanup.push(() => gateway.stop());
    await new Promise((r) => setTimeout(r, 300)); // storescp listening
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('all uploaded', () => (gateway.counts().uploaded === set.files.length ? true : undefined), 30_000, 100);
    const stored = fs.readdirSync(received).map((f) => path.join(received, f));
    expect(stored.length).toBe(set.files.length);
    const inspected = await inspectDicom(stored);
    for (const i of Object.values(inspected)) {
      expect(i.top.PatientIdentityRemoved).toBe('YES');
      expect(i.top.SOPInstanceUID).toMatch(/^2\.25\./);
    }
  });

  it('a DICOM destination that rejects the association (wrong called AE title) fails permanently with advice', async () => {
    const [set, port] = await Promise.all([generateMammograms([...SMALL, '--studies-per-patient', '1', '--views', '1', '--seed', '1111']), freePort()]);
    // storescp answers any called AE title; the gateway's own intake does not, so it serves as the strict peer here.
    const { gateway, events } = await inProcessGateway({
      intake: { port },
      destination: { type: 'dimse', host: '127.0.0.1', port, calledAeTitle: 'SOMEONE_ELSE', callingAeTitle: 'DEID_GW' },
    });
    cleanup.push(() => gateway.stop());
    await storescu(port, set.files.map((f) => path.join(set.dir, f.file)));
    await waitFor('failed', () => (gateway.counts().failed === 1 ? true : undefined), 30_000, 100);
    expect(events.find((e) => e.state === 'failed')?.error).toMatch(/rejected the association .*check the AE titles in Settings/);
  });
});
