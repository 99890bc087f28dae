/**
 * Export benchmark: a crosswalk of PATIENTS patients (default 100,000; 1–3 studies each) exported by the
 * doctor as an AES-256 ZIP, as the CSV for machines and as the spreadsheet for people (exceljs, streamed), each with
 * about half the patients delivered to research. Target: under 30 s each. Prints the figures; checks each with 7-Zip
 * if present (the CSV's line count, the spreadsheet's row count with exceljs).
 *
 *   npm run bench:export [-- PATIENTS] [--format csv|xlsx|both]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { openDatabase } from '../src/main/core/store';
import { AuditLog } from '../src/main/core/audit';
import { DoctorService } from '../src/main/core/doctor';
import { createLogger } from '../src/main/core/log';
import { newResearchId, newUid, randomCode } from '../src/main/core/crosswalk';

import ExcelJS from 'exceljs';

const args = process.argv.slice(2);
const formatArg = args.includes('--format') ? args[args.indexOf('--format') + 1] : 'both';
const PATIENTS = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
const FORMATS = (formatArg === 'both' ? ['csv', 'xlsx'] : [formatArg]) as Array<'csv' | 'xlsx'>;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-export-'));
const db = openDatabase(path.join(dir, 'gateway.db'), crypto.randomBytes(32).toString('hex'));

// Filled with plain INSERTs in one transaction: the gateway's own linkPatient commits per patient, which would measure the disk, not the export.
let t = performance.now();
const insertPatient = db.prepare(
  `INSERT INTO patients (research_id, patient_id, issuer, patient_name, birth_date, sex, created_at) VALUES (?, ?, 'HOSP', ?, ?, 'F', ?)`,
);
// Two instances per study, delivered for every other patient: the counts and the "delivered" column have work to do.
const insertInstance = db.prepare(
  `INSERT INTO instances (sop_instance_uid, study_ref, state, spool_path, calling_ae_title, size_bytes, received_at, updated_at) VALUES (?, ?, ?, '/x', 'MAMMO', 1, ?, ?)`,
);
const insertStudy = db.prepare(
  `INSERT INTO studies (patient_ref, study_uid, research_study_uid, study_date, accession_number, research_accession_number, study_id, research_study_id, modality, created_at)
   VALUES (?, ?, ?, ?, ?, ?, '1', ?, 'MG', ?)`,
);
let studies = 0;
db.transaction(() => {
  const now = new Date().toISOString();
  for (let i = 0; i < PATIENTS; i++) {
    const ref = Number(insertPatient.run(newResearchId('BENCH'), `MRN${10_000_000 + i}`, `SURNAME${i}^GIVEN^MIDDLE`, `19${40 + (i % 50)}0${1 + (i % 9)}1${i % 10}`, now).lastInsertRowid);
    for (let s = 0; s < 1 + (i % 3); s++) {
      const study = Number(insertStudy.run(ref, `1.2.826.0.1.3680043.${i}.${s}`, newUid(), `20${20 + s}0${1 + (i % 9)}15`, `ACC${i}${s}`, randomCode(12), randomCode(10), now).lastInsertRowid);
      for (let v = 0; v < 2; v++) insertInstance.run(`1.2.826.0.1.3680043.${i}.${s}.${v}`, study, i % 2 ? 'uploaded' : 'deidentified', now, now);
      studies += 1;
    }
  }
})();
const fillMs = performance.now() - t;

const audit = new AuditLog(db);
const doctor = new DoctorService({ db, audit, logger: createLogger({ level: 'warn' }), siteCode: 'BENCH', sessionMinutes: () => 10 });
const password = 'Bench-Doctor-Pass-2026';
await doctor.setPassword(password, password);
const { token } = await doctor.unlock(password);
const exportPassword = 'Bench Export Pass 2026';
console.log(`crosswalk: ${PATIENTS} patients, ${studies} studies (filled in ${(fillMs / 1000).toFixed(1)} s)`);
for (const format of FORMATS) {
  const file = path.join(dir, `crosswalk-${format}.zip`);
  let progressEvents = 0;
  const rss0 = process.memoryUsage().rss;
  let peakRss = rss0;
  const cpu0 = process.cpuUsage();
  t = performance.now();
  const result = await doctor.export(token, {
    file, password: exportPassword, confirmation: exportPassword, filter: { kind: 'all' },
    format: format === 'xlsx' ? { kind: 'xlsx' } : { kind: 'csv', delimiter: ',' },
    onProgress: () => {
      progressEvents += 1;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    },
  });
  const exportMs = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  console.log(`${format} export: ${result.rows} rows, ${(result.bytes / 1e6).toFixed(1)} MB ZIP, ${(exportMs / 1000).toFixed(2)} s (target < 30 s), `
    + `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, ${progressEvents} progress events`);
  console.log(`  memory:    peak RSS ${(peakRss / 1e6).toFixed(0)} MB (${((peakRss - rss0) / 1e6).toFixed(0)} MB above the start of the export)`);
  try {
    if (format === 'csv') {
      const csvLines = execFileSync('sh', ['-c', `7z x -so -p'${exportPassword}' '${file}' | wc -l`], { encoding: 'utf8' }).trim();
      console.log(`  7-Zip:     opened it, ${csvLines} CSV lines (header + ${Number(csvLines) - 1} rows)`);
    } else {
      const xlsx = path.join(dir, 'crosswalk.xlsx');
      execFileSync('sh', ['-c', `7z x -so -p'${exportPassword}' '${file}' > '${xlsx}'`]);
      let rows = 0;
      for await (const sheet of new ExcelJS.stream.xlsx.WorkbookReader(xlsx, {})) for await (const row of sheet) rows += row ? 1 : 0;
      console.log(`  7-Zip:     opened it; exceljs reads ${rows} spreadsheet rows (header + ${rows - 1})`);
    }
  } catch (error) {
    console.log(`  7-Zip:     not available or failed to open the file (${(error as Error).message})`);
  }
}
db.close();
fs.rmSync(dir, { recursive: true, force: true });
