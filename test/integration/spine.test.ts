import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { waitFor } from '../support/processes';
import { PYDICOM_TEST_FILES, generateMammograms, inspectDicom, storescu, echoscu, type Inspection, type ManifestFile } from '../support/dicom-tools';
import { findLeaks, identifyingValuesOf } from '../support/leaks';
import { openDatabase } from '../../src/main/core/store';

/** Real files from Debian's python3-pydicom, each sent in its own transfer syntax. */
// Each with its own SOP Instance UID (several pydicom files are one instance in different syntaxes).
const PYDICOM_CASES = [
  { file: 'CT_small.dcm', storescu: [], syntax: '1.2.840.10008.1.2.1', what: 'explicit VR little endian' },
  { file: 'MR_small_implicit.dcm', storescu: ['-xi'], syntax: '1.2.840.10008.1.2', what: 'implicit VR little endian' },
  { file: 'ExplVR_BigEnd.dcm', storescu: ['-xb'], syntax: '1.2.840.10008.1.2.2', what: 'explicit VR big endian' },
  { file: 'image_dfl.dcm', storescu: ['-xd'], syntax: '1.2.840.10008.1.2.1.99', what: 'deflated explicit VR little endian' },
  { file: 'SC_rgb_rle.dcm', storescu: ['-xr'], syntax: '1.2.840.10008.1.2.5', what: 'RLE lossless' },
  { file: 'JPEG2000.dcm', storescu: ['-xw'], syntax: '1.2.840.10008.1.2.4.91', what: 'JPEG 2000' },
  { file: 'GDCMJ2K_TextGBR.dcm', storescu: ['-xv'], syntax: '1.2.840.10008.1.2.4.90', what: 'JPEG 2000 lossless, GB18030 text' },
  { file: 'SC_rgb_jpeg_dcmtk.dcm', storescu: ['-xy'], syntax: '1.2.840.10008.1.2.4.50', what: 'JPEG baseline' },
] as const;

describe('spine: a mammogram sent over DICOM arrives de-identified at a real research Orthanc', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let port: number;
  let mammograms: { dir: string; files: ManifestFile[] };
  const outputs = new Map<string, { file: Buffer; inspection: Inspection }>(); // by original SOP Instance UID
  const inputs = new Map<string, Inspection>(); // by input path
  let uidMap: Map<string, string>;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'spine-'));

  beforeAll(async () => {
    [orthanc, mammograms, port] = await Promise.all([startOrthanc(), generateMammograms(), freePort()]);
    gateway = await startGateway({
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
      // The OT secondary captures below would be held for burned-in text review; this test is about transport.
      deid: { birthDate: { keep: 'month', day: 15 }, burnedInModalities: [] },
    });

    const mammogramPaths = mammograms.files.map((f) => path.join(mammograms.dir, f.file));
    await storescu(port, mammogramPaths);
    for (const c of PYDICOM_CASES) await storescu(port, [path.join(PYDICOM_TEST_FILES, c.file)], { extra: [...c.storescu] });
    const expected = mammogramPaths.length + PYDICOM_CASES.length;
    await waitFor('every instance at Orthanc', async () => {
      const ids = await orthanc.api<string[]>('/instances');
      return ids.length >= expected ? ids : undefined;
    }, 90_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${gateway.output()}`);
    });

    const allInputs = [...mammogramPaths, ...PYDICOM_CASES.map((c) => path.join(PYDICOM_TEST_FILES, c.file))];
    Object.entries(await inspectDicom(allInputs)).forEach(([file, inspection]) => inputs.set(file, inspection));

    // Download every stored instance and pair it with its original through the crosswalk's UID map.
    const ids = await orthanc.api<string[]>('/instances');
    const downloaded: string[] = [];
    for (const id of ids) {
      const file = path.join(scratch, `${id}.dcm`);
      fs.writeFileSync(file, await orthanc.download(`/instances/${id}/file`));
      downloaded.push(file);
    }
    const inspections = await inspectDicom(downloaded);
    const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
    const rows = db.prepare('SELECT original, replacement FROM uid_map').all() as Array<{ original: string; replacement: string }>;
    db.close();
    uidMap = new Map(rows.map((r) => [r.original, r.replacement]));
    const originalOf = new Map(rows.map((r) => [r.replacement, r.original]));
    for (const file of downloaded) {
      const inspection = inspections[file]!;
      const original = originalOf.get(inspection.top.SOPInstanceUID ?? '');
      if (original) outputs.set(original, { file: fs.readFileSync(file), inspection });
    }
  });

  afterAll(async () => {
    const code = await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
    expect(code).toBe(0); // SIGTERM: stops accepting, finishes work, exits 0
  });

  it('answers C-ECHO for its own AE title and rejects another called AE title', async () => {
    expect((await echoscu(port)).code).toBe(0);
    const wrong = await echoscu(port, { calledAe: 'NOT_THE_GW' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).toMatch(/Called AE Title Not Recognized/i);
  });

  it('delivers every instance sent, each exactly once', async () => {
    const ids = await orthanc.api<string[]>('/instances');
    expect(ids.length).toBe(mammograms.files.length + PYDICOM_CASES.length);
    expect(outputs.size).toBe(ids.length);
  });

  it('leaves no identifying value of the generated mammograms anywhere in the output', () => {
    for (const m of mammograms.files) {
      const out = outputs.get(m.sopInstanceUID);
      expect(out, m.file).toBeDefined();
      const input = inputs.get(path.join(mammograms.dir, m.file))!;
      // Retain Patient Characteristics keeps ethnic group by design; everything else in the manifest must go.
      const retained = new Set([input.top.EthnicGroup]);
      const identifying = m.phi.filter((v) => !retained.has(v));
      expect(identifying.length).toBeGreaterThan(40);
      expect(findLeaks(out!.file, out!.inspection, identifying), m.file).toEqual([]);
    }
  });

  it('leaves no identifying value of the pydicom files in the output, whatever their transfer syntax', () => {
    for (const c of PYDICOM_CASES) {
      const input = inputs.get(path.join(PYDICOM_TEST_FILES, c.file))!;
      const out = outputs.get(input.top.SOPInstanceUID!);
      expect(out, c.file).toBeDefined();
      const identifying = identifyingValuesOf(input);
      expect(identifying.length, c.file).toBeGreaterThan(2);
      expect(findLeaks(out!.file, out!.inspection, identifying), c.file).toEqual([]);
    }
  });

  it('keeps each transfer syntax and copies pixel data byte for byte', () => {
    for (const c of PYDICOM_CASES) {
      const input = inputs.get(path.join(PYDICOM_TEST_FILES, c.file))!;
      const out = outputs.get(input.top.SOPInstanceUID!)!;
      expect(out.inspection.transferSyntax, `${c.file} (${c.what})`).toBe(c.syntax);
      expect(out.inspection.pixelSha256, c.file).toBe(input.pixelSha256);
    }
    for (const m of mammograms.files) {
      const input = inputs.get(path.join(mammograms.dir, m.file))!;
      expect(outputs.get(m.sopInstanceUID)!.inspection.pixelSha256, m.file).toBe(input.pixelSha256);
    }
  });

  it('truncates the birth date to the 15th of its month and keeps the study date', () => {
    for (const m of mammograms.files) {
      const top = outputs.get(m.sopInstanceUID)!.inspection.top;
      expect(top.PatientBirthDate).toBe(`${m.birthDate.slice(0, 6)}15`);
      expect(top.StudyDate).toBe(m.studyDate);
      expect(top.PatientIdentityRemoved).toBe('YES');
      // Age is kept, or computed from the real dates when the device left it out.
      if (m.ageAtStudy) expect(top.PatientAge).toBe(m.ageAtStudy);
    }
  });

  it('gives two studies of one patient the same research ID and two patients different ones', () => {
    const researchIdByPatient = new Map<string, Set<string>>();
    for (const m of mammograms.files) {
      const top = outputs.get(m.sopInstanceUID)!.inspection.top;
      expect(top.PatientName).toBe(top.PatientID);
      expect(top.PatientID).toMatch(/^SITE-[0-9A-Z]{8}$/);
      if (!researchIdByPatient.has(m.patientKey)) researchIdByPatient.set(m.patientKey, new Set());
      researchIdByPatient.get(m.patientKey)!.add(top.PatientID!);
    }
    const studiesPerPatient = new Map<string, Set<string>>();
    for (const m of mammograms.files) studiesPerPatient.set(m.patientKey, (studiesPerPatient.get(m.patientKey) ?? new Set()).add(m.studyInstanceUID));
    expect([...studiesPerPatient.values()].every((s) => s.size >= 2)).toBe(true);
    for (const ids of researchIdByPatient.values()) expect(ids.size).toBe(1);
    const all = [...researchIdByPatient.values()].map((s) => [...s][0]);
    expect(new Set(all).size).toBe(researchIdByPatient.size);
    expect(researchIdByPatient.size).toBe(3);
  });

  it('remaps every UID consistently, references inside sequences included', () => {
    const byFile = new Map(mammograms.files.map((m) => [m.file, m]));
    let checked = 0;
    for (const m of mammograms.files) {
      const out = outputs.get(m.sopInstanceUID)!.inspection;
      expect(out.top.StudyInstanceUID).toBe(uidMap.get(m.studyInstanceUID));
      expect(out.top.SeriesInstanceUID).toBe(uidMap.get(m.seriesInstanceUID));
      for (const ref of m.references.filter((r) => r.kind === 'instance')) {
        const target = byFile.get(ref.targetFile!)!;
        const newTargetUid = outputs.get(target.sopInstanceUID)!.inspection.top.SOPInstanceUID;
        const found = out.uids.find((u) => u.path === ref.path);
        expect(found?.value, `${m.file} ${ref.path}`).toBe(newTargetUid);
        checked += 1;
      }
      for (const u of out.uids) {
        if (!u.path.endsWith('ClassUID') && !u.path.startsWith('meta.Implementation') && !u.path.endsWith('TransferSyntaxUID')) expect(u.value, u.path).toMatch(/^2\.25\.\d+$/);
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('never writes a patient name or ID into its log', () => {
    const log = gateway.output().toUpperCase();
    expect(log).toMatch(/DE-IDENTIFIED/);
    for (const m of mammograms.files) {
      for (const v of m.phi.filter((p) => p.length >= 6 && !/^\d|^1\.2\./.test(p))) expect(log.includes(v.toUpperCase()), v).toBe(false);
    }
  });
});
