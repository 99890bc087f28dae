import fs from 'node:fs';
import type { GatewayDatabase } from './database';

/**
 * Commits on the busy path of every instance, made durable together and off the main thread.
 *
 * The database runs with synchronous=FULL: each commit waits on the main thread for an fsync of the write-ahead
 * log. Four of those per instance (received, crosswalk, de-identified, uploading) held up every association. A
 * commit made inside `unsynced()` is written to the log but not synced; `synced()` fsyncs the log file from the
 * thread pool, one sync for every commit made before it. Whatever outside the database relies on such a commit
 * (the answer to the sender, an upload) waits for `synced()` first. Until then a power cut may roll the commit
 * back, which is safe: that work is simply done again. The log is written in order, so any synced commit makes
 * every earlier one durable too.
 */
export class DeferredSync {
  private readonly walFile: string;
  private readonly toNormal;
  private readonly toFull;
  /** The sync in progress, and the one queued behind it for commits it may have missed. */
  private current: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private log: Promise<fs.promises.FileHandle> | undefined;

  constructor(private readonly db: GatewayDatabase) {
    this.walFile = `${db.name}-wal`;
    this.toNormal = db.prepare('PRAGMA synchronous = NORMAL');
    this.toFull = db.prepare('PRAGMA synchronous = FULL');
  }

  /** Runs `work` (its own transactions) with commits that do not wait for the disk. */
  unsynced<T>(work: () => T): T {
    // Inside a larger transaction the setting cannot change, and that transaction's commit decides anyway.
    if (this.db.inTransaction) return work();
    this.toNormal.run();
    try {
      return work();
    } finally {
      this.toFull.run();
    }
  }

  /** Resolves once every commit made so far is on disk. */
  synced(): Promise<void> {
    if (this.next) return this.next;
    if (!this.current) return (this.current = this.start());
    // The running sync may have begun before this caller's commit was written: the next one covers it.
    this.next = this.current.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.next;
  }

  private startQueued(): Promise<void> {
    this.next = undefined;
    return (this.current = this.start());
  }

  /** Closes the log file this keeps open for its syncs; call before closing the database. */
  async close(): Promise<void> {
    const opening = this.log;
    this.log = undefined;
    const handle = await opening?.catch(() => undefined);
    await handle?.close();
  }

  private start(): Promise<void> {
    const sync: Promise<void> = this.syncLog().finally(() => {
      if (this.current === sync) this.current = undefined;
    });
    return sync;
  }

  /** fsync of the log, through a handle kept open: SQLite's own is out of reach, and any handle syncs the file. */
  private async syncLog(): Promise<void> {
    this.log ??= fs.promises.open(this.walFile, 'r');
    let handle;
    try {
      handle = await this.log;
    } catch (error) {
      this.log = undefined;
      // No log: the database was closed, which checkpoints the log into the database file with a sync, and deletes it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    await handle.sync();
  }
}
