import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../support/orthanc';
import { startGateway, type GatewayProcess } from '../support/gateway-process';
import { freePort } from '../support/ports';
import { run, waitFor } from '../support/processes';
import { generateMammograms, inspectDicom, storescu, type Inspection, type ManifestFile } from '../support/dicom-tools';
import { extractWith7z, parseCsv } from '../support/seven-zip';
import { openDatabase } from '../../src/main/core/store';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCTOR_PASSWORD = 'Quiet-Harbour-Lamp-31';
const EXPORT_PASSWORD = 'Granite Swallow 58 Meadow';

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): Array<{ file: string; bytes: Buffer }> {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

interface StudyAtOrthanc { MainDicomTags: { StudyInstanceUID: string }; PatientMainDicomTags: { PatientID: string } }

describe('the crosswalk stays private after a real run: storescu → gateway → Orthanc, then the doctor’s command line', () => {
  let orthanc: OrthancServer;
  let gateway: GatewayProcess;
  let mammograms: { dir: string; files: ManifestFile[] };
  const inputs = new Map<string, Inspection>(); // by original SOP Instance UID
  const researchStudyUidOf = new Map<string, string>(); // original → research Study Instance UID, as Orthanc received it
  const researchIdOf = new Map<string, string>(); // patientKey → research ID, as Orthanc received it
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'privacy-'));

  const crosswalk = (args: string[], input = '') =>
    run(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'src/main/headless/crosswalk-cli.ts'), ...args, '--data-dir', gateway.dataDir], {
      input, allowFailure: true, env: { ...process.env, DEID_GATEWAY_DB_KEY: gateway.databaseKey },
    });

  beforeAll(async () => {
    let port: number;
    [orthanc, mammograms, port] = await Promise.all([startOrthanc(), generateMammograms(), freePort()]);
    gateway = await startGateway({
      site: { code: 'KGH' },
      intake: { aeTitle: 'DEID_GW', port, allowedCallingAeTitles: [] },
      destination: { url: orthanc.url, username: orthanc.username, password: orthanc.password },
    });
    const files = mammograms.files.map((f) => path.join(mammograms.dir, f.file));
    await storescu(port, files);
    // The spool (originals) empties at once; the de-identified outbox copies stay (retention default) and are read below too.
    await waitFor('every instance at Orthanc, spool emptied', async () => {
      const ids = await orthanc.api<string[]>('/instances');
      const left = fs.readdirSync(path.join(gateway.dataDir, 'spool'));
      const kept = fs.readdirSync(path.join(gateway.dataDir, 'outbox'));
      return ids.length === files.length && left.length === 0 && kept.length === files.length ? true : undefined;
    }, 90_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}\n--- gateway output ---\n${gateway.output()}`);
    });
    const inspected = await inspectDicom(files);
    for (const m of mammograms.files) inputs.set(m.sopInstanceUID, inspected[path.join(mammograms.dir, m.file)]!);
    const studies = await orthanc.api<StudyAtOrthanc[]>('/studies?expand');
    const researchStudyUids = new Set(studies.map((s) => s.MainDicomTags.StudyInstanceUID));
    const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
    // Only to pair originals with what Orthanc holds; the checks below compare the export with Orthanc and the input files.
    for (const m of mammograms.files) {
      const row = db.prepare('SELECT replacement FROM uid_map WHERE original = ?').get(m.studyInstanceUID) as { replacement: string };
      expect(researchStudyUids.has(row.replacement)).toBe(true);
      researchStudyUidOf.set(m.studyInstanceUID, row.replacement);
      const study = studies.find((s) => s.MainDicomTags.StudyInstanceUID === row.replacement)!;
      researchIdOf.set(m.patientKey, study.PatientMainDicomTags.PatientID);
    }
    db.close();
  });

  afterAll(async () => {
    await gateway?.stop();
    await orthanc?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses look-up and export before the doctor password is set, and with a wrong one', async () => {
    const researchId = [...researchIdOf.values()][0]!;
    const before = await crosswalk(['lookup', researchId], `${DOCTOR_PASSWORD}\n`);
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/No doctor password has been set/);
    const set = await crosswalk(['set-password'], `${DOCTOR_PASSWORD}\n${DOCTOR_PASSWORD}\n`);
    expect(set.code, set.stderr).toBe(0);
    const wrong = await crosswalk(['lookup', researchId], 'Not-The-Doctor-99\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/Wrong doctor password/);
    expect(wrong.stdout).toBe('');
    const file = path.join(scratch, 'refused.zip');
    const refused = await crosswalk(['export', '--out', file], `Not-The-Doctor-99\n${EXPORT_PASSWORD}\n${EXPORT_PASSWORD}\n`);
    expect(refused.code).toBe(1);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('looks up a research ID and a research Study Instance UID: the right patient, with every study', async () => {
    // Two different patients, one found by research ID, the other by research Study Instance UID.
    const first = mammograms.files[0]!;
    const other = mammograms.files.find((m) => m.patientKey !== first.patientKey)!;
    const input = inputs.get(first.sopInstanceUID)!.top;
    const byId = await crosswalk(['lookup', researchIdOf.get(first.patientKey)!, '--json'], `${DOCTOR_PASSWORD}\n`);
    expect(byId.code, byId.stderr).toBe(0);
    const patient = JSON.parse(byId.stdout) as { patientId: string; name: string; birthDate: string; sex: string; studies: Array<{ studyInstanceUid: string; researchStudyUid: string }> };
    expect(patient).toMatchObject({ patientId: input.PatientID, name: input.PatientName, birthDate: input.PatientBirthDate, sex: input.PatientSex });
    const studiesOfFirst = new Set(mammograms.files.filter((m) => m.patientKey === first.patientKey).map((m) => m.studyInstanceUID));
    expect(patient.studies.map((s) => s.studyInstanceUid).sort()).toEqual([...studiesOfFirst].sort());
    for (const s of patient.studies) expect(s.researchStudyUid).toBe(researchStudyUidOf.get(s.studyInstanceUid));
    const byUid = await crosswalk(['lookup', researchStudyUidOf.get(other.studyInstanceUID)!], `${DOCTOR_PASSWORD}\n`);
    expect(byUid.code, byUid.stderr).toBe(0);
    expect(byUid.stdout).toContain(`Patient ID    ${inputs.get(other.sopInstanceUID)!.top.PatientID}`);
    expect(byUid.stdout).toContain(`Research ID   ${researchIdOf.get(other.patientKey)}`);
  });

  it('exports a ZIP that 7-Zip opens with the export password only, one row per study matching the input files and Orthanc', async () => {
    const file = path.join(scratch, 'crosswalk.zip');
    const result = await crosswalk(['export', '--out', file], `${DOCTOR_PASSWORD}\n${EXPORT_PASSWORD}\n${EXPORT_PASSWORD}\n`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/exporting: \d+ \/ \d+ rows \(100 %\)/);
    expect((await extractWith7z(file, DOCTOR_PASSWORD)).code).not.toBe(0);
    const opened = await extractWith7z(file, EXPORT_PASSWORD);
    expect(opened.code, opened.output).toBe(0);
    const [, ...rows] = parseCsv([...opened.files.values()][0]!);
    const expected = new Map<string, string[]>();
    for (const m of mammograms.files) {
      const t = inputs.get(m.sopInstanceUID)!.top;
      expected.set(m.studyInstanceUID, [
        researchIdOf.get(m.patientKey)!, t.PatientID!, t.IssuerOfPatientID ?? '', t.PatientName!, t.PatientBirthDate!, t.PatientSex ?? '',
        t.StudyDate ?? '', t.AccessionNumber ?? '', m.studyInstanceUID, researchStudyUidOf.get(m.studyInstanceUID)!,
      ]);
    }
    expect(rows.length).toBe(expected.size);
    expect(new Map(rows.map((r) => [r[8]!, r]))).toEqual(expected);
  });

  it('audits every attempt, keeps no patient data in the audit log, and detects an edited past entry', async () => {
    const log = await crosswalk(['audit', '--format', 'json']);
    const entries = JSON.parse(log.stdout) as Array<{ action: string; outcome: string; detail: string }>;
    const summary = entries.map((e) => `${e.action}:${e.outcome}`);
    expect(summary.slice(0, 5)).toEqual(['doctor.unlock:refused', 'doctor.password.set:success', 'doctor.unlock:failure', 'doctor.unlock:failure', 'doctor.unlock:success']);
    expect(summary.filter((s) => s === 'crosswalk.lookup:success')).toHaveLength(2);
    expect(summary.at(-1)).toBe('crosswalk.export:success');
    for (const m of mammograms.files) for (const v of m.phi.filter((p) => p.length >= 6)) expect(log.stdout.includes(v), v).toBe(false);
    expect((await crosswalk(['audit-verify'])).code).toBe(0);

    const db = openDatabase(path.join(gateway.dataDir, 'gateway.db'), gateway.databaseKey);
    db.exec('DROP TRIGGER audit_log_no_update');
    db.prepare("UPDATE audit_log SET outcome = 'success' WHERE action = 'doctor.unlock' AND outcome = 'failure'").run();
    db.close();
    const tampered = await crosswalk(['audit-verify']);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/Audit log tampered with: entry 3 was changed after it was written/);
  });

  it('leaves none of the patients’ names, IDs or other identifying values in the data folder, read as bytes', async () => {
    await gateway.stop();
    const identifying = new Set<string>();
    for (const m of mammograms.files) {
      const t = inputs.get(m.sopInstanceUID)!.top;
      identifying.add(t.PatientID!);
      identifying.add(t.PatientName!);
      // Six characters or more: a shorter string turns up in kilobytes of ciphertext by chance. Ethnic group is a
      // patient characteristic the profile keeps (Retain Patient Characteristics), so the outbox copies carry it.
      for (const v of m.phi) if (v.length >= 6 && v !== t.EthnicGroup) identifying.add(v);
    }
    const files = filesUnder(gateway.dataDir);
    expect(files.map((f) => path.relative(gateway.dataDir, f.file))).toContain('gateway.db');
    expect(files.reduce((n, f) => n + f.bytes.length, 0)).toBeGreaterThan(50_000);
    const found: string[] = [];
    for (const { file, bytes } of files) {
      for (const v of identifying) {
        if (bytes.includes(Buffer.from(v, 'latin1')) || bytes.includes(Buffer.from(v, 'utf8')) || bytes.includes(Buffer.from(v, 'utf16le'))) found.push(`${v} in ${file}`);
      }
    }
    expect(identifying.size).toBeGreaterThan(30);
    expect(found).toEqual([]);
  });
});
