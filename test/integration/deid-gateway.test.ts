import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/main/core/gateway';
import { createLogger } from '../../src/main/core/log';
import { openDatabase } from '../../src/main/core/store';
import { GatewaySettings } from '../../src/shared/settings';
import type { InstanceEvent } from '../../src/shared/domain';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { PYDICOM_TEST_FILES, generateMammograms, inspectDicom, storescu, type Inspection, type ManifestFile } from '../support/dicom-tools';
import { findLeaks, identifyingValuesOf } from '../support/leaks';

// A sample of pydicom's files in several transfer syntaxes; the OT secondary capture has no Burned In Annotation.
const SAMPLE = ['CT_small.dcm', 'MR_small_implicit.dcm', 'JPEG2000.dcm', 'rtplan.dcm', 'test-SR.dcm'];
const STORESCU_SYNTAX: Record<string, string[]> = { 'MR_small_implicit.dcm': ['-xi'], 'JPEG2000.dcm': ['-xw'] };
const SECONDARY_CAPTURE = 'SC_rgb_rle.dcm';
const daysBetween = (a: string, b: string): number =>
  (Date.UTC(+b.slice(0, 4), +b.slice(4, 6) - 1, +b.slice(6, 8)) - Date.UTC(+a.slice(0, 4), +a.slice(4, 6) - 1, +a.slice(6, 8))) / 86_400_000;

describe('de-identification in the running gateway, delivered to a real Orthanc', () => {
  let orthanc: OrthancServer;
  let gateway: Gateway;
  let port: number;
  let mammograms: { dir: string; files: ManifestFile[] };
  const events: InstanceEvent[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-gw-'));
  const logLines: string[] = [];
  let burnedInFile: string;
  const databaseKey = crypto.randomBytes(32).toString('hex');

  const downloadAll = async (): Promise<Record<string, Inspection & { file: Buffer }>> => {
    const files: string[] = [];
    for (const id of await orthanc.api<string[]>('/instances')) {
      const file = path.join(scratch, `${id}.dcm`);
      fs.writeFileSync(file, await orthanc.download(`/instances/${id}/file`));
      files.push(file);
    }
    const inspections = await inspectDicom(files);
    return Object.fromEntries(files.map((f) => [f, { ...inspections[f]!, file: fs.readFileSync(f) }]));
  };

  beforeAll(async () => {
    [orthanc, mammograms, port] = await Promise.all([startOrthanc(), generateMammograms(['--patients', '2', '--views', '2']), freePort()]);
    // One mammogram says it has burned-in text.
    burnedInFile = path.join(scratch, 'burned-in.dcm');
    fs.copyFileSync(path.join(mammograms.dir, mammograms.files[0]!.file), burnedInFile);
    await run('dcmodify', ['-nb', '-i', '(0028,0301)=YES', burnedInFile]);
    const settings = GatewaySettings.parse({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      deid: { studyDates: { keep: 'shift' } },
    });
    gateway = createGateway({ settings, dataDir: path.join(scratch, 'data'), databaseKey, logger: createLogger({ sink: (line) => logLines.push(line), level: 'info' }) });
    gateway.on('instance', (e) => events.push(e));
    await gateway.start();
    await storescu(port, mammograms.files.slice(1).map((f) => path.join(mammograms.dir, f.file)));
    await storescu(port, [burnedInFile]);
    for (const f of SAMPLE) await storescu(port, [path.join(PYDICOM_TEST_FILES, f)], { extra: STORESCU_SYNTAX[f] ?? [] });
    await storescu(port, [path.join(PYDICOM_TEST_FILES, SECONDARY_CAPTURE)], { extra: ['-xr'] });
    const expected = mammograms.files.length - 1 + SAMPLE.length;
    await waitFor('the instances that are not held at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length >= expected ? true : undefined), 60_000, 250);
    await waitFor('two instances held', () => (gateway.counts().held === 2 ? true : undefined), 10_000);
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('holds the instance with Burned In Annotation YES and the OT capture without it, with the reason, and uploads neither', async () => {
    const held = events.filter((e) => e.state === 'held');
    expect(held).toHaveLength(2);
    const reasons = held.map((e) => e.error ?? '');
    expect(reasons.filter((r) => /^Burned-in text possible: modality OT/.test(r))).toHaveLength(1);
    expect(reasons.filter((r) => /^Burned-in text: .*Burned In Annotation YES/.test(r))).toHaveLength(1);
    const atOrthanc = Object.values(await downloadAll());
    expect(atOrthanc).toHaveLength(mammograms.files.length - 1 + SAMPLE.length);
  });

  it('uploads a held instance once the technologist releases it, and records the release', async () => {
    const heldIds = events.filter((e) => e.state === 'held').map((e) => e.instanceId);
    const before = (await orthanc.api<string[]>('/instances')).length;
    for (const id of heldIds) expect(gateway.releaseHeld(id)).toBe(true);
    expect(gateway.releaseHeld(heldIds[0]!)).toBe(false); // no longer held
    await waitFor('released instances at Orthanc', async () => ((await orthanc.api<string[]>('/instances')).length === before + 2 ? true : undefined), 30_000, 250);
    expect(logLines.filter((l) => /released from review/.test(l))).toHaveLength(2);
  });

  it('leaves no identifying value of the sample or the mammograms in what Orthanc stores', async () => {
    const sampleFiles = SAMPLE.map((f) => path.join(PYDICOM_TEST_FILES, f));
    const inputs = await inspectDicom([...sampleFiles, ...mammograms.files.map((f) => path.join(mammograms.dir, f.file))]);
    const db = openDatabase(path.join(scratch, 'data', 'gateway.db'), databaseKey);
    const rows = db.prepare('SELECT original, replacement FROM uid_map').all() as Array<{ original: string; replacement: string }>;
    db.close();
    const originalOf = new Map(rows.map((r) => [r.replacement, r.original]));
    // Mammogram PHI is unique by construction: none of it may appear in any output.
    const mammogramPhi = new Set<string>();
    for (const m of mammograms.files) for (const v of m.phi) if (v !== inputs[path.join(mammograms.dir, m.file)]!.top.EthnicGroup) mammogramPhi.add(v);
    const outputs = Object.values(await downloadAll());
    expect(outputs.length).toBe(mammograms.files.length + SAMPLE.length + 1);
    let samplesChecked = 0;
    for (const out of outputs) {
      const identifying = [...mammogramPhi];
      // A pydicom file's own identifying values, found through the crosswalk's UID map.
      const original = originalOf.get(out.top.SOPInstanceUID ?? '');
      const sample = sampleFiles.find((f) => inputs[f]!.top.SOPInstanceUID === original);
      if (sample) {
        samplesChecked += 1;
        // Coincidences with coded values kept by design (see deid-leaks.test.ts).
        identifying.push(...identifyingValuesOf(inputs[sample]!).filter((v) => v !== 'pre' && v !== 'Test'));
      }
      expect(findLeaks(out.file, out, identifying), out.top.SOPInstanceUID).toEqual([]);
    }
    expect(samplesChecked).toBe(SAMPLE.length);
  });

  it('shifts each patient\'s study dates by one offset, keeping the interval between the patient\'s studies exact', async () => {
    const outputs = Object.values(await downloadAll());
    // Pair original and output studies through the research patient: both studies of one patient share a research ID.
    const outByResearchId = new Map<string, Set<string>>();
    for (const o of outputs.filter((x) => x.top.Modality === 'MG')) {
      const s = outByResearchId.get(o.top.PatientID!) ?? new Set<string>();
      s.add(o.top.StudyDate!);
      outByResearchId.set(o.top.PatientID!, s);
    }
    const originalsByPatient = new Map<string, Set<string>>();
    for (const m of mammograms.files) originalsByPatient.set(m.patientKey, (originalsByPatient.get(m.patientKey) ?? new Set()).add(m.studyDate));
    expect(outByResearchId.size).toBe(originalsByPatient.size);
    const originalGaps = [...originalsByPatient.values()].map((s) => { const [a, b] = [...s].sort(); return daysBetween(a!, b!); }).sort();
    const shiftedGaps = [...outByResearchId.values()].map((s) => { const [a, b] = [...s].sort(); return daysBetween(a!, b!); }).sort();
    expect(shiftedGaps).toEqual(originalGaps);
    const allOriginal = new Set(mammograms.files.map((m) => m.studyDate));
    for (const s of outByResearchId.values()) for (const d of s) expect(allOriginal.has(d)).toBe(false);
  });
});
