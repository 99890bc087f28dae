import Database from 'better-sqlite3-multiple-ciphers';
import { migrate } from './migrate';
import { migrations } from './migrations';

export type GatewayDatabase = Database.Database;

export class DatabaseKeyError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The gateway database cannot be opened with this key (wrong key, or not a gateway database).', options);
    this.name = 'DatabaseKeyError';
  }
}

/**
 * Opens the gateway's database, encrypted as a whole (SQLCipher format, AES-256) with `key`,
 * and brings its schema up to date.
 */
export function openDatabase(file: string, key: string): GatewayDatabase {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new Error('Database key must be 64 hex characters (256 bits)');
  const db = new Database(file);
  try {
    db.pragma(`cipher='sqlcipher'`);
    db.pragma(`legacy=4`);
    // A raw 256-bit key (x'..') skips the passphrase KDF: the key is already random.
    db.pragma(`key="x'${key}'"`);
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (error) {
      throw new DatabaseKeyError({ cause: error });
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
