import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { GatewayDatabase } from '../store';
import type { AuditLog } from '../audit';
import type { Logger } from '../log';
import { CrosswalkReader, type CrosswalkFilter, type CrosswalkPatient } from '../crosswalk';
import { hashPassword, passwordWeakness, verifyPassword, type PasswordHash } from './password';
import { writeEncryptedCrosswalkZip, type CrosswalkFileFormat } from './export-zip';
import {
  CrosswalkLocked, DoctorPasswordAlreadySet, DoctorPasswordNotSet, InvalidExportRequest, PasswordsDoNotMatch,
  UnlockThrottled, WeakPassword, WrongPassword,
} from './errors';

/** Wrong passwords allowed before unlocking pauses; each further one doubles the pause, up to the cap. */
export const FREE_ATTEMPTS = 3;
const FIRST_PAUSE_MS = 5_000;
const MAX_PAUSE_MS = 15 * 60_000;

/** The pause after the `failures`-th consecutive wrong password (0 while within the free attempts). */
export function unlockPauseMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (failures - FREE_ATTEMPTS));
}

export interface DoctorSession {
  /** Opaque; passed back with every look-up and export. */
  token: string;
  expiresAt: Date;
}

export interface ExportProgress {
  rowsWritten: number;
  rowsTotal: number;
}

export interface ExportRequest {
  /** Where the ZIP is written (created with mode 0600). */
  file: string;
  password: string;
  /** The same password typed a second time. */
  confirmation: string;
  filter: CrosswalkFilter;
  /** What is inside the ZIP: a spreadsheet for people, or a CSV for machines (default, comma-separated). */
  format?: CrosswalkFileFormat;
  /** Leave out patients none of whose instances reached the research server (default: every patient, each study marked). */
  deliveredOnly?: boolean;
  onProgress?: (progress: ExportProgress) => void;
}

export interface ExportResult {
  file: string;
  patients: number;
  rows: number;
  bytes: number;
  ms: number;
}

export interface DoctorServiceDeps {
  db: GatewayDatabase;
  audit: AuditLog;
  logger: Logger;
  siteCode: string;
  sessionMinutes: () => number;
  now?: () => number;
}

const YYYYMMDD = /^\d{8}$/;
const describeFilter = (f: CrosswalkFilter): string =>
  f.kind === 'all' ? 'all' : f.kind === 'dateRange' ? `study dates ${f.from || '…'} to ${f.to || '…'}` : `${f.researchIds.length} research ID(s)`;
const describeRequest = (r: ExportRequest): string =>
  `${describeFilter(r.filter)}${r.deliveredOnly ? ', delivered only' : ''}${r.format?.kind === 'xlsx' ? ', xlsx' : ''}`;

/**
 * The doctor's access to the crosswalk: a password set once (kept only as an scrypt hash), an unlock that
 * opens a time-limited session, throttled wrong passwords, look-up and encrypted export. Every attempt,
 * successful or not, goes to the audit log; no PHI does.
 */
export class DoctorService {
  private readonly sessions = new Map<string, number>();
  private unlocking: Promise<unknown> = Promise.resolve();
  private readonly reader: CrosswalkReader;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly s;

  constructor(private readonly deps: DoctorServiceDeps) {
    this.reader = new CrosswalkReader(deps.db);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child('doctor');
    const db = deps.db;
    this.s = {
      credential: db.prepare<[], { salt: string; hash: string; cost_n: number; block_size_r: number; parallel_p: number }>(
        'SELECT salt, hash, cost_n, block_size_r, parallel_p FROM doctor_credential WHERE id = 1',
      ),
      saveCredential: db.prepare(
        `INSERT INTO doctor_credential (id, algorithm, salt, hash, cost_n, block_size_r, parallel_p, created_at)
         VALUES (1, @algorithm, @salt, @hash, @N, @r, @p, @now)
         ON CONFLICT (id) DO UPDATE SET algorithm = @algorithm, salt = @salt, hash = @hash, cost_n = @N,
           block_size_r = @r, parallel_p = @p, created_at = @now`,
      ),
      throttle: db.prepare<[], { consecutive_failures: number; locked_until: number }>(
        'SELECT consecutive_failures, locked_until FROM doctor_unlock_throttle WHERE id = 1',
      ),
      saveThrottle: db.prepare(
        `INSERT INTO doctor_unlock_throttle (id, consecutive_failures, locked_until) VALUES (1, @failures, @lockedUntil)
         ON CONFLICT (id) DO UPDATE SET consecutive_failures = @failures, locked_until = @lockedUntil`,
      ),
    };
  }

  /** Whether the doctor password has been set (a screen shows "set" or "unlock" from this). */
  hasPassword(): boolean {
    return this.s.credential.get() !== undefined;
  }

  /** Sets the doctor password at first use; refused if one exists, if the two entries differ, or if it is weak. */
  async setPassword(password: string, confirmation: string): Promise<void> {
    if (this.hasPassword()) {
      this.audit('doctor.password.set', 'refused', 'a password is already set');
      throw new DoctorPasswordAlreadySet();
    }
    this.checkRequest('doctor.password.set', '', () => checkNewPassword(password, confirmation));
    await this.saveCredential(await hashPassword(password));
    this.audit('doctor.password.set', 'success');
  }

  /** Replaces the doctor password; needs an open session. Other sessions end. */
  async changePassword(token: string, password: string, confirmation: string): Promise<void> {
    this.requireSession(token, 'doctor.password.change');
    this.checkRequest('doctor.password.change', '', () => checkNewPassword(password, confirmation));
    await this.saveCredential(await hashPassword(password));
    for (const t of [...this.sessions.keys()]) if (t !== token) this.sessions.delete(t);
    this.audit('doctor.password.change', 'success');
  }

  /** Checks the doctor password and opens a session; wrong passwords pause further attempts, increasingly. */
  unlock(password: string): Promise<DoctorSession> {
    // One attempt at a time: parallel guesses would all pass the pause check before the first failure is counted.
    const attempt = this.unlocking.then(() => this.unlockNow(password));
    this.unlocking = attempt.catch(() => undefined);
    return attempt;
  }

  private async unlockNow(password: string): Promise<DoctorSession> {
    const stored = this.s.credential.get();
    if (!stored) {
      this.audit('doctor.unlock', 'refused', 'no doctor password set');
      throw new DoctorPasswordNotSet();
    }
    const throttle = this.s.throttle.get() ?? { consecutive_failures: 0, locked_until: 0 };
    if (throttle.locked_until > this.now()) {
      this.audit('doctor.unlock', 'refused', `paused after ${throttle.consecutive_failures} wrong password(s)`);
      throw new UnlockThrottled(throttle.locked_until - this.now());
    }
    const hash: PasswordHash = { algorithm: 'scrypt', salt: stored.salt, hash: stored.hash, N: stored.cost_n, r: stored.block_size_r, p: stored.parallel_p };
    if (!(await verifyPassword(password, hash))) {
      // Re-read: another process may have counted a failure while scrypt ran.
      const failures = (this.s.throttle.get()?.consecutive_failures ?? 0) + 1;
      const pause = unlockPauseMs(failures);
      this.s.saveThrottle.run({ failures, lockedUntil: pause ? this.now() + pause : 0 });
      this.audit('doctor.unlock', 'failure', `wrong password (${failures} in a row)${pause ? `; paused ${Math.round(pause / 1000)} s` : ''}`);
      this.log.warn(`wrong doctor password (${failures} in a row)`);
      throw new WrongPassword(Math.max(0, FREE_ATTEMPTS - failures));
    }
    this.s.saveThrottle.run({ failures: 0, lockedUntil: 0 });
    const token = crypto.randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.deps.sessionMinutes() * 60_000;
    this.sessions.set(token, expiresAt);
    this.audit('doctor.unlock', 'success', `session of ${this.deps.sessionMinutes()} min`);
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** Ends the session now. */
  lock(token: string): void {
    if (this.sessions.delete(token)) this.audit('doctor.lock', 'success');
  }

  isUnlocked(token: string | undefined): boolean {
    if (!token) return false;
    const expiresAt = this.sessions.get(token);
    if (expiresAt === undefined) return false;
    if (expiresAt <= this.now()) {
      this.sessions.delete(token);
      return false;
    }
    return true;
  }

  /** Who a research ID or research Study Instance UID is; undefined when the crosswalk does not know it. */
  lookup(token: string | undefined, query: { researchId: string } | { researchStudyUid: string }): CrosswalkPatient | undefined {
    // The typed value is audited only once the crosswalk confirms it is a research identifier: a mistyped
    // look-up might hold a patient's name or an original UID.
    const kind = 'researchId' in query ? 'research ID' : 'research Study Instance UID';
    this.requireSession(token, 'crosswalk.lookup', kind);
    const found = this.reader.lookup(query);
    if (!found) {
      this.audit('crosswalk.lookup', 'failure', `${kind}: not in the crosswalk`);
      return undefined;
    }
    const value = 'researchId' in query ? found.researchId : query.researchStudyUid.trim();
    this.audit('crosswalk.lookup', 'success', `${kind} ${value} (${found.researchId}, ${found.studies.length} studies)`);
    return found;
  }

  /** Writes the chosen part of the crosswalk as a spreadsheet or a CSV inside one AES-256 encrypted ZIP. */
  async export(token: string | undefined, request: ExportRequest): Promise<ExportResult> {
    const filterText = describeRequest(request);
    this.requireSession(token, 'crosswalk.export', filterText);
    this.checkRequest('crosswalk.export', filterText, () => {
      checkNewPassword(request.password, request.confirmation);
      checkFilter(request.filter);
      checkWritableFolder(path.dirname(path.resolve(request.file)));
    });
    const started = this.now();
    const scope = { deliveredOnly: request.deliveredOnly ?? false };
    const format: CrosswalkFileFormat = request.format ?? { kind: 'csv', delimiter: ',' };
    const rowsTotal = this.reader.countRows(request.filter, scope);
    const patients = new Set<string>();
    const day = new Date(started).toISOString().slice(0, 10);
    try {
      const result = await writeEncryptedCrosswalkZip({
        file: path.resolve(request.file),
        entryName: `crosswalk-${this.deps.siteCode}-${day}.${format.kind}`,
        password: request.password,
        format,
        chunks: (function* (rows) {
          for (const chunk of rows) {
            for (const r of chunk) patients.add(r.researchId);
            yield chunk;
          }
        })(this.reader.rows(request.filter, scope)),
        onRows: (rowsWritten) => request.onProgress?.({ rowsWritten, rowsTotal }),
      });
      const ms = this.now() - started;
      this.audit('crosswalk.export', 'success', `${filterText}; ${patients.size} patients, ${result.rows} rows`);
      this.log.info(`crosswalk exported: ${patients.size} patients, ${result.rows} rows in ${ms} ms`);
      return { file: path.resolve(request.file), patients: patients.size, rows: result.rows, bytes: result.bytes, ms };
    } catch (error) {
      this.audit('crosswalk.export', 'failure', `${filterText}: ${(error as Error).name}`);
      throw error;
    }
  }

  private requireSession(token: string | undefined, action: string, detail = ''): void {
    if (this.isUnlocked(token)) return;
    this.audit(action, 'refused', `locked${detail ? `: ${detail}` : ''}`);
    throw new CrosswalkLocked();
  }

  /** Runs the checks of a request; a refusal is audited by the name of its error (never the values). */
  private checkRequest(action: string, detail: string, check: () => void): void {
    try {
      check();
    } catch (error) {
      this.audit(action, 'refused', `${detail ? `${detail}: ` : ''}${(error as Error).name}`);
      throw error;
    }
  }

  private async saveCredential(hash: PasswordHash): Promise<void> {
    this.s.saveCredential.run({ ...hash, now: new Date(this.now()).toISOString() });
  }

  private audit(action: string, outcome: 'success' | 'failure' | 'refused', detail = ''): void {
    this.deps.audit.append({ actor: 'doctor', action, outcome, detail });
  }
}

function checkNewPassword(password: string, confirmation: string): void {
  if (password !== confirmation) throw new PasswordsDoNotMatch();
  const weakness = passwordWeakness(password);
  if (weakness) throw new WeakPassword(weakness);
}

function checkWritableFolder(folder: string): void {
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch {
    throw new InvalidExportRequest(`Cannot write the export into ${folder}: choose an existing folder you may write to.`);
  }
}

function checkFilter(filter: CrosswalkFilter): void {
  if (filter.kind === 'dateRange') {
    for (const d of [filter.from, filter.to]) if (d && !YYYYMMDD.test(d)) throw new InvalidExportRequest(`Dates must be written YYYYMMDD (got "${d}").`);
    if (filter.from && filter.to && filter.from > filter.to) throw new InvalidExportRequest('The start date is after the end date.');
  }
  if (filter.kind === 'researchIds' && filter.researchIds.length === 0) throw new InvalidExportRequest('Choose at least one research ID to export.');
}
