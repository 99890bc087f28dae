import crypto from 'node:crypto';
import type { GatewayDatabase } from '../store';

/** Who acted: the doctor (after unlock), the technologist at the gateway, or the gateway itself. */
export type AuditActor = 'doctor' | 'technologist' | 'system';
export type AuditOutcome = 'success' | 'failure' | 'refused';

export interface AuditEntryInput {
  actor: AuditActor;
  /** A short dotted name: `doctor.unlock`, `crosswalk.export`, `settings.change`, `instance.resend`… */
  action: string;
  outcome: AuditOutcome;
  /** Never PHI: research IDs, counts and reasons only. */
  detail?: string;
}

export interface AuditEntry extends Required<AuditEntryInput> {
  id: number;
  /** ISO 8601, UTC. */
  at: string;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  /** The first entry whose content, order or link does not match the chain. */
  firstBadId?: number;
  problem?: string;
}

/** The hash that the first entry links back to. */
export const GENESIS_HASH = '0'.repeat(64);

interface Row {
  id: number;
  at: string;
  actor: AuditActor;
  action: string;
  outcome: AuditOutcome;
  detail: string;
  prev_hash: string;
  hash: string;
}

const toEntry = (r: Row): AuditEntry => ({
  id: r.id, at: r.at, actor: r.actor, action: r.action, outcome: r.outcome, detail: r.detail, prevHash: r.prev_hash, hash: r.hash,
});

const canonicalOf = (e: Omit<AuditEntry, 'hash'>): string => JSON.stringify([e.id, e.at, e.actor, e.action, e.outcome, e.detail, e.prevHash]);

/**
 * SHA-256 over every field of the entry and the previous entry's hash: a change anywhere breaks the chain.
 * Unkeyed: anyone who can write the database can recompute it, so it is kept only to read logs written before
 * the audit key existed (and for tests of that).
 */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return crypto.createHash('sha256').update(canonicalOf(e), 'utf8').digest('hex');
}

/** HMAC-SHA-256 of the same fields with the audit key, which is kept outside the database: re-hashing after an edit needs the key. */
export function entryMac(e: Omit<AuditEntry, 'hash'>, key: string): string {
  return crypto.createHmac('sha256', Buffer.from(key, 'hex')).update(canonicalOf(e), 'utf8').digest('hex');
}

export interface AuditLogOptions {
  /** 64 hex characters from the secret store (not from the database). Without it the chain is unkeyed SHA-256. */
  key?: string;
  now?: () => Date;
}

/** What adoptUnkeyedEntries() did with entries written before the log had a key. */
export type AdoptionOutcome =
  | { adopted: 'nothing-to-do' }
  | { adopted: 'resigned'; entries: number }
  | { adopted: 'refused'; problem: string };

const CSV_COLUMNS = ['id', 'at', 'actor', 'action', 'outcome', 'detail', 'prevHash', 'hash'] as const;

/**
 * The append-only audit log: every access to the crosswalk and every action on studies, with time, actor,
 * action and outcome. Each entry is signed (HMAC-SHA-256 with the audit key from the secret store) over its
 * fields and the previous entry's signature, so an edited, removed or reordered past entry shows up in
 * verify(), even when the editor re-hashed everything after it.
 */
export class AuditLog {
  private readonly s;

  private readonly key: string | undefined;
  private readonly now: () => Date;

  constructor(private readonly db: GatewayDatabase, options: AuditLogOptions = {}) {
    if (options.key !== undefined && !/^[0-9a-f]{64}$/.test(options.key)) throw new Error('The audit key must be 64 lower-case hex characters');
    this.key = options.key;
    this.now = options.now ?? (() => new Date());
    this.s = {
      last: db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO audit_log (id, at, actor, action, outcome, detail, prev_hash, hash)
         VALUES (@id, @at, @actor, @action, @outcome, @detail, @prevHash, @hash)`,
      ),
      page: db.prepare<[number, number], Row>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?'),
      all: db.prepare<[], Row>('SELECT * FROM audit_log ORDER BY id'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit_log'),
    };
  }

  /** True when entries are signed with a key held outside the database. */
  get keyed(): boolean {
    return this.key !== undefined;
  }

  private sign(e: Omit<AuditEntry, 'hash'>): string {
    return this.key === undefined ? entryHash(e) : entryMac(e, this.key);
  }

  /**
   * Once, when the audit key is new: entries written before it (unkeyed SHA-256, older versions) are checked
   * under their own chain and, only if intact, re-signed with the key, with an entry saying so. A chain that is
   * already broken is left as it is (re-signing would hide the break), so verify() keeps reporting it.
   */
  adoptUnkeyedEntries(): AdoptionOutcome {
    if (this.key === undefined) return { adopted: 'nothing-to-do' };
    return this.db.transaction((): AdoptionOutcome => {
      if (this.count() === 0 || this.walk((e) => this.sign(e)).ok) return { adopted: 'nothing-to-do' };
      const unkeyed = this.walk(entryHash);
      if (!unkeyed.ok) return { adopted: 'refused', problem: unkeyed.problem ?? 'the chain is broken' };
      const rows = this.s.all.all().map(toEntry);
      // The only place entries change: the append-only triggers are lifted inside this one transaction.
      this.db.exec('DROP TRIGGER audit_log_no_update');
      const update = this.db.prepare('UPDATE audit_log SET prev_hash = @prevHash, hash = @hash WHERE id = @id');
      let prev = GENESIS_HASH;
      for (const row of rows) {
        const unsigned = { ...row, prevHash: prev };
        const hash = this.sign(unsigned);
        update.run({ id: row.id, prevHash: prev, hash });
        prev = hash;
      }
      this.db.exec(`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;`);
      this.append({ actor: 'system', action: 'audit.keyed', outcome: 'success', detail: `${rows.length} earlier entries checked under the unkeyed chain and signed with the audit key` });
      return { adopted: 'resigned', entries: rows.length };
    }).immediate();
  }

  /** Appends one entry; safe with several processes on one database (the read of the chain head and the insert are one write transaction). */
  append(input: AuditEntryInput): AuditEntry {
    return this.db.transaction((): AuditEntry => {
      const last = this.s.last.get();
      const unsigned = {
        id: (last?.id ?? 0) + 1,
        at: this.now().toISOString(),
        actor: input.actor,
        action: input.action,
        outcome: input.outcome,
        detail: input.detail ?? '',
        prevHash: last?.hash ?? GENESIS_HASH,
      };
      const entry: AuditEntry = { ...unsigned, hash: this.sign(unsigned) };
      this.s.insert.run(entry);
      return entry;
    }).immediate();
  }

  /** Newest first, for a screen that pages through the log. */
  list(options: { limit?: number; offset?: number } = {}): AuditEntry[] {
    return this.s.page.all(options.limit ?? 100, options.offset ?? 0).map(toEntry);
  }

  count(): number {
    return this.s.count.get()?.n ?? 0;
  }

  /**
   * Walks the whole chain: ids without gaps from 1, each entry linked to the one before and signed as it says.
   * With the key, an edit followed by re-hashing every later entry is caught too (the re-hash lacks the key).
   */
  verify(): AuditVerification {
    return this.walk((e) => this.sign(e));
  }

  private walk(signature: (e: Omit<AuditEntry, 'hash'>) => string): AuditVerification {
    let prev = GENESIS_HASH;
    let expectedId = 1;
    let entries = 0;
    for (const row of this.s.all.iterate()) {
      const e = toEntry(row);
      entries += 1;
      if (e.id !== expectedId) return { ok: false, entries, firstBadId: e.id, problem: `entry ${expectedId} is missing` };
      if (e.prevHash !== prev) return { ok: false, entries, firstBadId: e.id, problem: `entry ${e.id} does not link to the entry before it` };
      if (signature(e) !== e.hash) return { ok: false, entries, firstBadId: e.id, problem: `entry ${e.id} was changed after it was written` };
      prev = e.hash;
      expectedId += 1;
    }
    return { ok: true, entries };
  }

  /** The whole log, oldest first, with the hashes, so a copy can be checked outside the app. */
  export(format: 'csv' | 'json'): string {
    const entries = this.s.all.all().map(toEntry);
    if (format === 'json') return `${JSON.stringify(entries, null, 2)}\n`;
    const lines = [CSV_COLUMNS.join(',')];
    for (const e of entries) lines.push(CSV_COLUMNS.map((c) => csvField(String(e[c]))).join(','));
    return `${lines.join('\r\n')}\r\n`;
  }
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet never runs it as a formula. */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
