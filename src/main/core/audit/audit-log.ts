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

/** SHA-256 over every field of the entry and the previous entry's hash: a change anywhere breaks the chain. */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const canonical = JSON.stringify([e.id, e.at, e.actor, e.action, e.outcome, e.detail, e.prevHash]);
  return crypto.createHash('sha256').update(canonical, 'utf8').digest('hex');
}

const CSV_COLUMNS = ['id', 'at', 'actor', 'action', 'outcome', 'detail', 'prevHash', 'hash'] as const;

/**
 * The append-only audit log: every access to the crosswalk and every action on studies, with time, actor,
 * action and outcome. Each entry carries the SHA-256 of the previous one, so an edited, removed or
 * reordered past entry shows up in verify().
 */
export class AuditLog {
  private readonly s;

  constructor(private readonly db: GatewayDatabase, private readonly now: () => Date = () => new Date()) {
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
      const entry: AuditEntry = { ...unsigned, hash: entryHash(unsigned) };
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

  /** Walks the whole chain: ids without gaps from 1, each entry linked to the one before and hashing to what it says. */
  verify(): AuditVerification {
    let prev = GENESIS_HASH;
    let expectedId = 1;
    let entries = 0;
    for (const row of this.s.all.iterate()) {
      const e = toEntry(row);
      entries += 1;
      if (e.id !== expectedId) return { ok: false, entries, firstBadId: e.id, problem: `entry ${expectedId} is missing` };
      if (e.prevHash !== prev) return { ok: false, entries, firstBadId: e.id, problem: `entry ${e.id} does not link to the entry before it` };
      if (entryHash(e) !== e.hash) return { ok: false, entries, firstBadId: e.id, problem: `entry ${e.id} was changed after it was written` };
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
