import type Database from 'better-sqlite3-multiple-ciphers';

export interface Migration {
  /** In steps of 10, so a fix can slot in between two migrations. */
  version: number;
  name: string;
  up: string | ((db: Database.Database) => void);
}

export class DatabaseTooNewError extends Error {
  constructor(found: number, known: number) {
    super(`The data folder was written by a newer version of the gateway (schema ${found}, this version knows ${known}). Install the newer version or use another data folder.`);
    this.name = 'DatabaseTooNewError';
  }
}

/** Applies pending migrations in order, all in one transaction, tracked by PRAGMA user_version. */
export function migrate(db: Database.Database, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const latest = sorted.at(-1)?.version ?? 0;
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > latest) throw new DatabaseTooNewError(current, latest);
  const pending = sorted.filter((m) => m.version > current);
  if (pending.length === 0) return current;
  db.transaction(() => {
    for (const m of pending) {
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }
  })();
  return latest;
}
