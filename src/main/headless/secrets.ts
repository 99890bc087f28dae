import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/**
 * The database key for the headless runner: from DEID_GATEWAY_DB_KEY, else from a key file that only
 * its owner may read (0600), created with a random key on first start.
 */
export function loadDatabaseKey(keyFile: string, env: NodeJS.ProcessEnv = process.env): { key: string; source: string } {
  const fromEnv = env.DEID_GATEWAY_DB_KEY?.trim();
  if (fromEnv) {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv)) throw new KeyFileError('DEID_GATEWAY_DB_KEY must be 64 hex characters (a 256-bit key)');
    return { key: fromEnv.toLowerCase(), source: 'environment variable DEID_GATEWAY_DB_KEY' };
  }
  if (!fs.existsSync(keyFile)) {
    fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(keyFile, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  assertOwnerOnly(keyFile, 'Key file');
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new KeyFileError(`Key file ${keyFile} must hold 64 hex characters (a 256-bit key)`);
  return { key: key.toLowerCase(), source: `key file ${keyFile}` };
}

/** A secret file's problem: others may read it. POSIX modes only; Windows folders are the user's by default. */
function assertOwnerOnly(file: string, what: string): void {
  if (process.platform === 'win32') return;
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new KeyFileError(`${what} ${file} may be read by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
}

export const DESTINATION_PASSWORD_ENV = 'DEID_GATEWAY_DESTINATION_PASSWORD';
export const AUDIT_KEY_ENV = 'DEID_GATEWAY_AUDIT_KEY';

/** Where the destination password lives for the headless runner, and how the screens may change it. */
export interface DestinationPasswordSource {
  /** The password, or '' when none is set anywhere. */
  password: string;
  /** What the log may say about it. */
  source: string;
  /** The file the screens save a new password to (0600); undefined when the environment variable supplies it. */
  file?: string;
}

/**
 * The research server's password, headless: DEID_GATEWAY_DESTINATION_PASSWORD, else a 0600 file beside the
 * settings (`destination.password`), else (older installs) the settings file itself, which must then be 0600.
 */
export function loadDestinationPassword(
  passwordFile: string,
  settingsFile: string | undefined,
  inSettings: string,
  env: NodeJS.ProcessEnv = process.env,
): DestinationPasswordSource {
  const fromEnv = env[DESTINATION_PASSWORD_ENV];
  if (fromEnv) return { password: fromEnv, source: `environment variable ${DESTINATION_PASSWORD_ENV}` };
  if (fs.existsSync(passwordFile)) {
    assertOwnerOnly(passwordFile, 'Password file');
    return { password: fs.readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, ''), source: `password file ${passwordFile}`, file: passwordFile };
  }
  if (inSettings && settingsFile) {
    assertOwnerOnly(settingsFile, 'Settings file (it holds the destination password)');
    return { password: inSettings, source: `settings file ${settingsFile} (saving from the screens moves it to ${passwordFile})`, file: passwordFile };
  }
  return { password: '', source: 'none', file: passwordFile };
}

/** What `loadAuditKey` found: the key, and whether it was made now (so the audit log adopts its earlier, unkeyed entries). */
export interface AuditKeySource {
  key: string;
  source: string;
  /** True until `commit()`: a new key, not yet the settled one; the audit log re-signs its earlier entries with it. */
  isNew: boolean;
  /** Settles a new key (rename of the pending file); nothing to do for an existing one. */
  commit(): void;
}

/**
 * The audit log's HMAC key, kept apart from the database (and its key), so whoever can open the database still
 * cannot rewrite the log and re-sign it: DEID_GATEWAY_AUDIT_KEY, else a 0600 file beside the database key. A new
 * key is written as `FILE.pending` first and renamed once the log is re-signed with it, so a crash in between
 * leaves a key that still matches the log.
 */
export function loadAuditKey(keyFile: string, env: NodeJS.ProcessEnv = process.env): AuditKeySource {
  const fromEnv = env[AUDIT_KEY_ENV]?.trim();
  if (fromEnv) {
    if (!/^[0-9a-fA-F]{64}$/.test(fromEnv)) throw new KeyFileError(`${AUDIT_KEY_ENV} must be 64 hex characters (a 256-bit key)`);
    return { key: fromEnv.toLowerCase(), source: `environment variable ${AUDIT_KEY_ENV}`, isNew: false, commit: () => undefined };
  }
  const read = (file: string): string => {
    assertOwnerOnly(file, 'Audit key file');
    const key = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new KeyFileError(`Audit key file ${file} must hold 64 hex characters (a 256-bit key)`);
    return key.toLowerCase();
  };
  if (fs.existsSync(keyFile)) return { key: read(keyFile), source: `audit key file ${keyFile}`, isNew: false, commit: () => undefined };
  const pending = `${keyFile}.pending`;
  if (!fs.existsSync(pending)) {
    fs.mkdirSync(path.dirname(keyFile), { recursive: true, mode: 0o700 });
    fs.writeFileSync(pending, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  return { key: read(pending), source: `audit key file ${keyFile}`, isNew: true, commit: () => fs.renameSync(pending, keyFile) };
}
