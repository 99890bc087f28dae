import type { GatewayDatabase } from '../store';
import type { ImportProgress } from '../../../shared/import';

export type ImportState = ImportProgress['state'];
export type FileOutcome = 'queued' | 'already-delivered' | 'already-received' | 'not-dicom' | 'directory' | 'failed';

export interface ImportRow {
  id: number;
  root: string;
  state: ImportState;
  discovered: number;
  bytes_copied: number;
  created_at: string;
  finished_at: string | null;
}

export interface PendingFile {
  id: number;
  importRef: number;
  path: string;
  sizeBytes: number;
}

/** The imports' own tables (migration 0080): what was found, what became of each file, where each import stands. */
export class ImportStore {
  private readonly s;

  constructor(private readonly db: GatewayDatabase) {
    this.s = {
      create: db.prepare(`INSERT INTO imports (root, state, created_at) VALUES (?, 'running', ?)`),
      get: db.prepare<[number], ImportRow>('SELECT * FROM imports WHERE id = ?'),
      latest: db.prepare<[number], ImportRow>('SELECT * FROM imports ORDER BY id DESC LIMIT ?'),
      undiscovered: db.prepare<[], ImportRow>(`SELECT * FROM imports WHERE discovered = 0 AND state IN ('running', 'paused') ORDER BY id`),
      setState: db.prepare(`UPDATE imports SET state = @to WHERE id = @id AND state IN (SELECT value FROM json_each(@from))`),
      markDiscovered: db.prepare('UPDATE imports SET discovered = 1 WHERE id = ?'),
      finish: db.prepare(
        `UPDATE imports SET state = 'done', finished_at = @now WHERE id = @id AND state = 'running' AND discovered = 1
           AND NOT EXISTS (SELECT 1 FROM import_files WHERE import_ref = @id AND state = 'pending')`,
      ),
      addFile: db.prepare(
        `INSERT OR IGNORE INTO import_files (import_ref, path, size_bytes, state, reason) VALUES (@importRef, @path, @sizeBytes, @state, @reason)`,
      ),
      // Oldest import first, files in the order found; `after` skips the ones being worked on.
      nextPending: db.prepare<[number], { id: number; import_ref: number; path: string; size_bytes: number }>(
        `SELECT f.id, f.import_ref, f.path, f.size_bytes FROM imports i JOIN import_files f ON f.import_ref = i.id AND f.state = 'pending'
         WHERE i.state = 'running' AND f.id > ? ORDER BY f.import_ref, f.id LIMIT 1`,
      ),
      settle: db.prepare(
        `UPDATE import_files SET state = @state, reason = @reason, instance_ref = @instanceRef WHERE id = @id AND state = 'pending'`,
      ),
      addCopied: db.prepare('UPDATE imports SET bytes_copied = bytes_copied + @bytes WHERE id = @id'),
      figures: db.prepare<[number], { state: string; n: number; bytes: number }>(
        `SELECT state, count(*) AS n, coalesce(sum(size_bytes), 0) AS bytes FROM import_files WHERE import_ref = ? GROUP BY state`,
      ),
      problems: db.prepare<[number], { path: string; reason: string }>(
        `SELECT path, coalesce(reason, '') AS reason FROM import_files WHERE import_ref = ? AND state = 'failed' ORDER BY id DESC LIMIT 20`,
      ),
      // Imported instances not yet de-identified: the window that keeps a modality's instance from queueing behind
      // an archive for de-identification. (The outbox is bounded by the spool share: with the research server away,
      // or none set, an import goes on filling its share rather than stalling.)
      inPipeline: db.prepare<[], { n: number }>(
        `SELECT count(*) AS n FROM import_files f JOIN instances i ON i.id = f.instance_ref
         WHERE f.state = 'queued' AND i.state = 'received'`,
      ),
      // The latest instance with this original UID, a discarded one aside (discarding is a decision about that copy).
      knownInstance: db.prepare<[string], { state: string }>(
        `SELECT state FROM instances WHERE sop_instance_uid = ? AND state <> 'discarded' ORDER BY id DESC LIMIT 1`,
      ),
    };
  }

  create(root: string): number {
    return Number(this.s.create.run(root, new Date().toISOString()).lastInsertRowid);
  }

  get(id: number): ImportRow | undefined {
    return this.s.get.get(id);
  }

  latest(limit: number): ImportRow[] {
    return this.s.latest.all(limit);
  }

  undiscovered(): ImportRow[] {
    return this.s.undiscovered.all();
  }

  /** A named transition, applied only from the states listed; returns whether it applied. */
  transition(id: number, from: ImportState[], to: ImportState): boolean {
    return this.s.setState.run({ id, from: JSON.stringify(from), to }).changes === 1;
  }

  markDiscovered(id: number): void {
    this.s.markDiscovered.run(id);
  }

  /** Marks the import done when it has been walked and nothing is left to look at. */
  finishIfComplete(id: number): boolean {
    return this.s.finish.run({ id, now: new Date().toISOString() }).changes === 1;
  }

  /** Adds files found (a batch, in one transaction); a path already listed for this import is kept as it was. */
  addFiles(importRef: number, files: Array<{ path: string; sizeBytes: number; state?: 'pending' | 'directory' | 'failed'; reason?: string }>): void {
    this.db.transaction(() => {
      for (const f of files) this.s.addFile.run({ importRef, path: f.path, sizeBytes: f.sizeBytes, state: f.state ?? 'pending', reason: f.reason ?? null });
    })();
  }

  nextPending(busy: ReadonlySet<number>): PendingFile | undefined {
    let after = 0;
    for (;;) {
      const row = this.s.nextPending.get(after);
      if (!row) return undefined;
      if (!busy.has(row.id)) return { id: row.id, importRef: row.import_ref, path: row.path, sizeBytes: row.size_bytes };
      after = row.id;
    }
  }

  settle(id: number, state: FileOutcome, reason?: string, instanceRef?: number): boolean {
    return this.s.settle.run({ id, state, reason: reason ?? null, instanceRef: instanceRef ?? null }).changes === 1;
  }

  addCopied(importRef: number, bytes: number): void {
    this.s.addCopied.run({ id: importRef, bytes });
  }

  figures(id: number): Map<string, { n: number; bytes: number }> {
    return new Map(this.s.figures.all(id).map((r) => [r.state, { n: r.n, bytes: r.bytes }]));
  }

  problems(id: number): Array<{ path: string; reason: string }> {
    return this.s.problems.all(id);
  }

  inPipeline(): number {
    return this.s.inPipeline.get()?.n ?? 0;
  }

  /** How an instance with this original SOP Instance UID already stands, if one was received. */
  knownInstance(sopInstanceUid: string): 'delivered' | 'received' | undefined {
    const row = this.s.knownInstance.get(sopInstanceUid);
    if (!row) return undefined;
    return row.state === 'uploaded' ? 'delivered' : 'received';
  }

  /** Runs `work` as one transaction (a file's job and its outcome are recorded together, or neither is). */
  atomically<T>(work: () => T): T {
    return this.db.transaction(work)();
  }
}
