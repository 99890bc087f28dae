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
  const stat = fs.statSync(keyFile);
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
    throw new KeyFileError(`Key file ${keyFile} may be read by others (mode ${(stat.mode & 0o777).toString(8)}); run: chmod 600 ${keyFile}`);
  }
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(key)) throw new KeyFileError(`Key file ${keyFile} must hold 64 hex characters (a 256-bit key)`);
  return { key: key.toLowerCase(), source: `key file ${keyFile}` };
}
