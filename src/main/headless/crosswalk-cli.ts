import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../core/log';
import { openDoctorAccess, type DoctorAccess } from '../core/doctor';
import type { CrosswalkFilter, CrosswalkPatient } from '../core/crosswalk';
import { loadSettingsFile } from './cli';
import { defaultConfigDir, defaultDataDir } from './paths';
import { loadAuditKey, loadDatabaseKey } from './secrets';
import { PasswordPrompt } from './password-prompt';

const USAGE = `Usage: npm run crosswalk -- COMMAND [options]

Commands (each asks for the doctor password, except audit):
  set-password                         set the doctor password (first use; asked twice)
  lookup ID                            who a research ID (KGH-7F3K9Q2M) or research Study Instance UID (2.25....) is
  export --out FILE.zip                export the crosswalk as CSV in an AES-256 encrypted ZIP (password asked twice)
         [--from YYYYMMDD] [--to YYYYMMDD]   only studies in this date range
         [--research-id ID]...               only these research IDs
  audit [--format csv|json] [--out FILE]     print or save the audit log
  audit-verify                               check that no past audit entry was changed or removed

Options:
  --settings FILE   the gateway's settings file       --data-dir DIR   the gateway's data folder (default: ${defaultDataDir()})
  --key-file FILE   the database key (default: database.key beside the settings file); DEID_GATEWAY_DB_KEY takes precedence
  --json            lookup: print JSON

Passwords are read from the terminal without echo, or one per line from stdin when it is not a terminal.`;

function printPatient(p: CrosswalkPatient): void {
  console.log(`Research ID   ${p.researchId}`);
  console.log(`Patient ID    ${p.patientId}${p.issuer ? ` (issuer ${p.issuer})` : ''}`);
  console.log(`Name          ${p.name}`);
  console.log(`Birth date    ${p.birthDate}`);
  console.log(`Sex           ${p.sex}`);
  for (const s of p.studies) {
    console.log(`Study ${s.studyDate || '(no date)'}  accession ${s.accessionNumber || '-'}  ${s.modality}`);
    console.log(`  original ${s.studyInstanceUid}`);
    console.log(`  research ${s.researchStudyUid}`);
  }
}

export async function main(args: string[] = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      settings: { type: 'string' },
      'data-dir': { type: 'string' },
      'key-file': { type: 'string' },
      out: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'research-id': { type: 'string', multiple: true },
      format: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const settings = loadSettingsFile(values.settings);
  const keyFile = values['key-file'] ?? path.join(values.settings ? path.dirname(path.resolve(values.settings)) : defaultConfigDir(), 'database.key');
  const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir());
  if (!fs.existsSync(path.join(dataDir, 'gateway.db'))) throw new Error(`No gateway database in ${dataDir}: give the gateway's --data-dir.`);
  const { key } = loadDatabaseKey(path.resolve(keyFile));
  const auditKey = loadAuditKey(path.join(path.dirname(path.resolve(keyFile)), 'audit.key'));
  // Log lines go to stderr so stdout carries only what was asked for.
  const logger = createLogger({ sink: (line) => process.stderr.write(`${line}\n`), level: 'warn' });
  const access: DoctorAccess = openDoctorAccess({ settings, dataDir, databaseKey: key, auditKey: { key: auditKey.key, adoptUnkeyedEntries: auditKey.isNew }, logger });
  auditKey.commit();
  const prompt = new PasswordPrompt();
  try {
    const { doctor, audit } = access;
    const unlock = async (): Promise<string> => (await doctor.unlock(await prompt.ask('Doctor password: '))).token;
    switch (command) {
      case 'set-password': {
        await doctor.setPassword(await prompt.ask('New doctor password: '), await prompt.ask('Same password again: '));
        console.log('Doctor password set.');
        return 0;
      }
      case 'lookup': {
        if (!target) throw new Error('Give the research ID or research Study Instance UID to look up.');
        const token = await unlock();
        const found = doctor.lookup(token, /^[\d.]+$/.test(target) ? { researchStudyUid: target } : { researchId: target });
        if (!found) {
          console.error(`${target} is not in the crosswalk.`);
          return 1;
        }
        if (values.json) console.log(JSON.stringify(found, null, 2));
        else printPatient(found);
        return 0;
      }
      case 'export': {
        if (!values.out) throw new Error('Give the file to write with --out FILE.zip.');
        const ids = values['research-id'] ?? [];
        const filter: CrosswalkFilter = ids.length
          ? { kind: 'researchIds', researchIds: ids }
          : values.from || values.to ? { kind: 'dateRange', from: values.from, to: values.to } : { kind: 'all' };
        const token = await unlock();
        const password = await prompt.ask('Password for the export file: ');
        const confirmation = await prompt.ask('Same password again: ');
        let shown = 0;
        const result = await doctor.export(token, {
          file: values.out, password, confirmation, filter,
          onProgress: ({ rowsWritten, rowsTotal }) => {
            const percent = rowsTotal ? Math.floor((100 * rowsWritten) / rowsTotal) : 100;
            if (percent >= shown + 10 || rowsWritten === rowsTotal) {
              shown = percent;
              process.stderr.write(`exporting: ${rowsWritten} / ${rowsTotal} rows (${percent} %)\n`);
            }
          },
        });
        console.log(`Exported ${result.patients} patients (${result.rows} rows) to ${result.file} in ${(result.ms / 1000).toFixed(1)} s.`);
        return 0;
      }
      case 'audit': {
        const format = values.format ?? 'csv';
        if (format !== 'csv' && format !== 'json') throw new Error('--format is csv or json.');
        const text = audit.export(format);
        if (values.out) fs.writeFileSync(values.out, text, { mode: 0o600 });
        else process.stdout.write(text);
        return 0;
      }
      case 'audit-verify': {
        const result = audit.verify();
        if (result.ok) console.log(`Audit log intact: ${result.entries} entries.`);
        else console.error(`Audit log tampered with: ${result.problem}.`);
        return result.ok ? 0 : 1;
      }
      default:
        console.error(`Unknown command ${command}.\n${USAGE}`);
        return 2;
    }
  } finally {
    prompt.close();
    access.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
