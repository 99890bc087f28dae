import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { GatewaySettings } from '../../../shared/settings';
import type { ImportProgress } from '../../../shared/import';
import type { Logger } from '../log';
import { createSealedWriteStream, sealedFiles, type GatewayDatabase, type DeferredSync, type SealedFileWriter, type SealingKey } from '../store';
import type { JobStore } from '../jobs';
import { encodeFileMeta, openInstanceFile, stringValue, tagOf } from '../dicom';
import { checkSpooledContent } from '../intake/content-check';
import { syncDirectory } from '../durable';
import { ImportStore, type FileOutcome, type ImportRow, type PendingFile } from './import-store';
import { readFileLayout, MEDIA_STORAGE_DIRECTORY } from './layout';
import { mediaName, referencedFiles } from './dicomdir';
import { RateMeter, TokenBucket } from './throttle';

/** What the import is refused for: a path that is not there, the gateway's own data folder. */
export class ImportRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportRefused';
  }
}

export class ImportNotFound extends Error {
  constructor(id: number) {
    super(`There is no import ${id}`);
    this.name = 'ImportNotFound';
  }
}

export interface ImportDeps {
  /** Seals the spool copies, as intake's (store/sealed-file). */
  sealingKey: SealingKey;
  db: GatewayDatabase;
  jobs: JobStore;
  sync: DeferredSync;
  spoolDir: string;
  /** The gateway's data folder: never imported from (it holds the spool itself). */
  dataDir: string;
  settings: () => GatewaySettings;
  /** Bytes waiting in spool and outbox, as intake's admission reads them. */
  pendingBytes: () => number;
  /** Told after each instance recorded, as intake's onStored tells the pipeline. */
  onQueued: (instanceId: number, sizeBytes: number) => void;
  logger: Logger;
}

/** The calling AE title recorded for imported instances (the column is shown where a modality's would be). */
export const IMPORT_SOURCE = 'IMPORT';
const COPY_CHUNK = 1024 * 1024;
const WAIT_MS = 250;
const DISCOVERY_BATCH = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The gateway is stopping: the file being copied is left for the next start (its partial copy removed). */
class StopRequested extends Error {
  constructor() {
    super('The gateway is stopping');
    this.name = 'StopRequested';
  }
}

/**
 * Brings an archive in through the spool, as if a modality had sent it: each file is read (never changed), copied
 * into the spool durably with file meta made as intake makes it, checked as intake checks it, and recorded as a
 * received job; the pipeline does the rest. State lives in the database, so a restart goes on where it stopped.
 */
export class ImportService {
  private readonly store: ImportStore;
  private readonly log: Logger;
  private readonly busy = new Set<number>();
  private readonly work = new Set<Promise<void>>();
  private readonly meters = new Map<number, RateMeter>();
  private readonly discovering = new Set<number>();
  private readonly bucket: TokenBucket;
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ImportDeps) {
    this.store = new ImportStore(deps.db);
    this.log = deps.logger.child('import');
    this.bucket = new TokenBucket(0, 0);
  }

  /** Goes on with imports a previous run left: walks again those not fully walked, then copies what is waiting. */
  start(): void {
    this.running = true;
    for (const row of this.store.undiscovered()) this.discover(row.id, row.root);
    this.pump();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  /** Starts importing a folder, a disk (its mount point) or a DICOMDIR file. */
  async begin(given: string): Promise<ImportProgress> {
    if (!path.isAbsolute(given)) throw new ImportRefused('Give the full path of the folder or DICOMDIR (starting with / or a drive letter)');
    let root: string;
    try {
      root = await fs.promises.realpath(given);
    } catch {
      throw new ImportRefused('Nothing is there: check the path (is the disk connected?)');
    }
    const dataDir = await fs.promises.realpath(this.deps.dataDir).catch(() => path.resolve(this.deps.dataDir));
    if (root === dataDir || root.startsWith(dataDir + path.sep)) throw new ImportRefused("This is the gateway's own data folder: it cannot be imported");
    const id = this.store.create(root);
    this.log.info(`import ${id} started`);
    this.discover(id, root);
    return this.progress(id);
  }

  pause(id: number): ImportProgress {
    this.require(id);
    if (this.store.transition(id, ['running'], 'paused')) this.log.info(`import ${id} paused`);
    return this.progress(id);
  }

  resume(id: number): ImportProgress {
    this.require(id);
    if (this.store.transition(id, ['paused'], 'running')) this.log.info(`import ${id} resumed`);
    this.pump();
    return this.progress(id);
  }

  /** Stops for good: files not yet copied stay as they are; what was queued goes on to the research server. */
  cancel(id: number): ImportProgress {
    this.require(id);
    if (this.store.transition(id, ['running', 'paused'], 'cancelled')) this.log.info(`import ${id} cancelled`);
    return this.progress(id);
  }

  list(limit = 20): ImportProgress[] {
    return this.store.latest(limit).map((row) => this.describe(row));
  }

  progress(id: number): ImportProgress {
    return this.describe(this.require(id));
  }

  private require(id: number): ImportRow {
    const row = this.store.get(id);
    if (!row) throw new ImportNotFound(id);
    return row;
  }

  private describe(row: ImportRow): ImportProgress {
    const figures = this.store.figures(row.id);
    const n = (state: string): number => figures.get(state)?.n ?? 0;
    const waiting = n('pending');
    const waitingBytes = figures.get('pending')?.bytes ?? 0;
    const active = row.state === 'running';
    const rate = active ? (this.meters.get(row.id)?.bytesPerSecond() ?? 0) : 0;
    return {
      importId: row.id,
      root: row.root,
      state: row.state,
      discovering: row.discovered === 0 && (row.state === 'running' || row.state === 'paused'),
      found: [...figures].filter(([state]) => state !== 'directory').reduce((sum, [, f]) => sum + f.n, 0),
      waiting,
      queued: n('queued'),
      alreadyDelivered: n('already-delivered'),
      alreadyReceived: n('already-received'),
      notDicom: n('not-dicom'),
      failed: n('failed'),
      bytesCopied: row.bytes_copied,
      bytesPerSecond: Math.round(rate),
      secondsLeft: row.state === 'done' ? 0 : rate > 0 && row.discovered === 1 ? Math.round(waitingBytes / rate) : null,
      startedAt: row.created_at,
      finishedAt: row.finished_at ?? undefined,
      problems: this.store.problems(row.id),
    };
  }

  private track(promise: Promise<void>): void {
    this.work.add(promise);
    void promise.finally(() => this.work.delete(promise));
  }

  /** Walks the folder (a DICOMDIR's records first, then every file under it), listing what it finds in batches. */
  private discover(id: number, root: string): void {
    if (this.discovering.has(id)) return;
    this.discovering.add(id);
    this.track(
      (async () => {
        const seen = new Set<string>();
        let batch: Array<{ path: string; sizeBytes: number; state?: 'pending' | 'directory' | 'failed'; reason?: string }> = [];
        const flush = (): void => {
          if (batch.length === 0) return;
          this.store.addFiles(id, batch);
          batch = [];
          this.pump();
        };
        const add = (entry: (typeof batch)[number]): void => {
          if (seen.has(entry.path)) return;
          seen.add(entry.path);
          batch.push(entry);
          if (batch.length >= DISCOVERY_BATCH) flush();
        };
        const addFile = async (file: string): Promise<void> => {
          const stat = await fs.promises.stat(file).catch(() => undefined);
          if (!stat?.isFile()) return;
          add({ path: file, sizeBytes: stat.size, state: mediaName(path.basename(file)) === 'DICOMDIR' ? 'directory' : 'pending' });
        };
        const followDicomdir = async (dicomdir: string): Promise<void> => {
          try {
            for (const entry of referencedFiles(dicomdir)) {
              if ('file' in entry) await addFile(entry.file);
              else add({ path: path.join(path.dirname(dicomdir), entry.missing), sizeBytes: 0, state: 'failed', reason: 'Listed in the DICOMDIR but not on the disk' });
            }
          } catch (error) {
            this.log.warn(`import ${id}: a DICOMDIR could not be read (${(error as Error).message}); the folder is walked instead`);
          }
        };
        const dataDir = path.resolve(this.deps.dataDir);
        const walk = async (dir: string): Promise<void> => {
          let entries: fs.Dirent[];
          try {
            entries = await fs.promises.readdir(dir, { withFileTypes: true });
          } catch (error) {
            add({ path: dir, sizeBytes: 0, state: 'failed', reason: `Folder cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
            return;
          }
          entries.sort((a, b) => a.name.localeCompare(b.name));
          const dicomdir = entries.find((e) => e.isFile() && mediaName(e.name) === 'DICOMDIR');
          if (dicomdir) await followDicomdir(path.join(dir, dicomdir.name));
          for (const entry of entries) {
            if (!this.running) return;
            const full = path.join(dir, entry.name);
            // Symbolic links to folders are not followed: a link back up would walk for ever.
            if (entry.isDirectory()) {
              if (full !== dataDir) await walk(full);
            } else if (entry.isFile() || entry.isSymbolicLink()) await addFile(full);
          }
        };
        const stat = await fs.promises.stat(root).catch(() => undefined);
        if (stat?.isDirectory()) await walk(root);
        else if (stat?.isFile()) {
          if (mediaName(path.basename(root)) === 'DICOMDIR') await followDicomdir(root);
          await addFile(root);
        } else add({ path: root, sizeBytes: 0, state: 'failed', reason: 'The folder is not there any more' });
        flush();
        if (!this.running) return;
        this.store.markDiscovered(id);
        this.log.info(`import ${id}: ${seen.size} file(s) found`);
        this.finishIfComplete(id);
        this.pump();
      })()
        .catch((error: Error) => this.log.error(`import ${id}: walking the folder failed: ${error.message}`))
        .finally(() => this.discovering.delete(id)),
    );
  }

  private finishIfComplete(id: number): void {
    if (this.store.finishIfComplete(id)) {
      const p = this.progress(id);
      this.log.info(`import ${id} done: ${p.found} found, ${p.queued} queued, ${p.alreadyDelivered + p.alreadyReceived} already there, ${p.notDicom} not DICOM, ${p.failed} failed`);
    }
  }

  /** Starts work on waiting files up to the concurrency limit, and within the window that keeps live traffic first. */
  private pump(): void {
    if (!this.running) return;
    const limits = this.deps.settings().import;
    this.bucket.setRate(limits.maxMegabytesPerSecond * 1e6, Math.max(COPY_CHUNK, limits.maxMegabytesPerSecond * 1e6 / 4));
    while (this.busy.size < limits.concurrency) {
      const file = this.store.nextPending(this.busy);
      if (!file) return;
      if (this.store.inPipeline() + this.busy.size >= limits.maxQueuedInstances || !this.spoolHasRoom()) {
        // Waits for the pipeline to drain some: looked at again shortly (and after each file done).
        this.later();
        return;
      }
      this.busy.add(file.id);
      this.track(
        this.importFile(file)
          .catch((error: Error) => {
            if (!(error instanceof StopRequested)) this.store.settle(file.id, 'failed', `Could not be imported: ${error.message}`);
          })
          .finally(() => {
            this.busy.delete(file.id);
            this.finishIfComplete(file.importRef);
            this.pump();
          }),
      );
    }
  }

  private later(): void {
    if (this.timer || !this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, WAIT_MS);
    this.timer.unref();
  }

  /** Imports may fill only their share of the spool cap, and never the free-space floor intake keeps. */
  private spoolHasRoom(): boolean {
    const { limits, import: share } = this.deps.settings();
    if (this.deps.pendingBytes() >= limits.spoolCapBytes * share.maxSpoolShare) return false;
    try {
      const stats = fs.statfsSync(this.deps.spoolDir);
      return stats.bavail * stats.bsize > limits.minFreeBytes * 2;
    } catch {
      return false;
    }
  }

  private settle(file: PendingFile, outcome: FileOutcome, reason?: string): void {
    this.store.settle(file.id, outcome, reason);
  }

  private async importFile(file: PendingFile): Promise<void> {
    const settings = this.deps.settings();
    let layout;
    try {
      layout = await readFileLayout(file.path);
    } catch (error) {
      return this.settle(file, 'failed', `Cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (layout.kind === 'not-dicom') return this.settle(file, 'not-dicom', layout.why);
    let { sopClassUid, sopInstanceUid } = layout;
    // A file with the preamble, or a bare data set, is read as it is: the data set's own UIDs are the ones that count.
    // (Meta without a preamble is rare and not what the parser reads: its meta names the instance, the copy is checked.)
    if (layout.preamble || !layout.hasMeta) {
      try {
        const parsed = await openInstanceFile(file.path, settings.limits);
        try {
          sopClassUid = stringValue(parsed.dataset, tagOf('SOPClassUID')) ?? sopClassUid;
          sopInstanceUid = stringValue(parsed.dataset, tagOf('SOPInstanceUID')) ?? sopInstanceUid;
        } finally {
          parsed.close();
        }
      } catch (error) {
        // A bare data set was a guess: what does not parse was not DICOM.
        if (!layout.hasMeta) return this.settle(file, 'not-dicom', 'neither a DICOM file nor a DICOM data set');
        return this.settle(file, 'failed', `Cannot be read as DICOM: ${(error as Error).message}`);
      }
    }
    if (sopClassUid === MEDIA_STORAGE_DIRECTORY) return this.settle(file, 'directory');
    if (!sopClassUid || !sopInstanceUid) return this.settle(file, 'failed', 'Names no SOP Class or SOP Instance UID');
    const known = this.store.knownInstance(sopInstanceUid);
    if (known) return this.settle(file, known === 'delivered' ? 'already-delivered' : 'already-received');
    if (this.store.get(file.importRef)?.state !== 'running') return;

    const spoolPath = path.join(this.deps.spoolDir, `${crypto.randomUUID()}.dcm`);
    const sizeBytes = await this.copyIntoSpool(file, layout.datasetStart, encodeFileMeta(sopClassUid, sopInstanceUid, layout.transferSyntaxUid), spoolPath);
    const refusal = await checkSpooledContent(spoolPath, sealedFiles(this.deps.sealingKey), settings.limits);
    if (refusal) {
      await fs.promises.rm(spoolPath, { force: true });
      return this.settle(file, 'failed', refusal.message);
    }
    const uid = sopInstanceUid;
    const recorded = this.deps.sync.unsynced(() =>
      this.store.atomically(() => {
        // Looked at again: a modality may have sent the same instance while this one was copied.
        const now = this.store.knownInstance(uid);
        if (now) {
          this.store.settle(file.id, now === 'delivered' ? 'already-delivered' : 'already-received');
          return undefined;
        }
        const instanceId = this.deps.jobs.recordReceived({ sopInstanceUid: uid, spoolPath, callingAeTitle: IMPORT_SOURCE, sizeBytes });
        this.store.settle(file.id, 'queued', undefined, instanceId);
        this.store.addCopied(file.importRef, sizeBytes);
        return instanceId;
      }),
    );
    if (recorded === undefined) {
      await fs.promises.rm(spoolPath, { force: true });
      return;
    }
    this.deps.onQueued(recorded, sizeBytes);
    await this.deps.sync.synced();
  }

  /**
   * Copies the data set into a spool file after the given meta, as intake writes one: to a .part name, fsynced,
   * renamed, the folder synced. The read side is throttled by the token bucket (settings.import.maxMegabytesPerSecond).
   */
  private async copyIntoSpool(file: PendingFile, datasetStart: number, head: Buffer, spoolPath: string): Promise<number> {
    const partial = `${spoolPath}.part`;
    const source = await fs.promises.open(file.path, 'r');
    let target: SealedFileWriter | undefined;
    let meter = this.meters.get(file.importRef);
    if (!meter) this.meters.set(file.importRef, (meter = new RateMeter()));
    // Sealed as intake seals a C-STORE's: no clear byte of the original reaches the spool.
    const write = (bytes: Buffer): Promise<void> => new Promise((resolve, reject) => target!.write(bytes, (error) => (error ? reject(error) : resolve())));
    try {
      target = createSealedWriteStream(partial, this.deps.sealingKey);
      target.on('error', () => undefined);
      await write(head);
      let written = head.length;
      let at = datasetStart;
      for (;;) {
        // A new buffer each time: the sealed writer keeps what it is given until it has sealed it.
        const buffer = Buffer.allocUnsafe(COPY_CHUNK);
        const { bytesRead } = await source.read(buffer, 0, COPY_CHUNK, at);
        if (bytesRead === 0) break;
        // The throttle's wait, in short steps so that a stop does not wait for a slow copy to end.
        for (let wait = this.bucket.take(bytesRead); ; wait -= WAIT_MS) {
          if (!this.running) throw new StopRequested();
          if (wait <= 0) break;
          await sleep(Math.min(wait, WAIT_MS));
        }
        await write(buffer.subarray(0, bytesRead));
        at += bytesRead;
        written += bytesRead;
        meter.add(bytesRead);
      }
      // The sealed writer seals the last chunk and fsyncs the file before it finishes.
      await new Promise<void>((resolve, reject) => target!.end((error?: Error | null) => (error ? reject(error) : resolve())));
      target = undefined;
      await fs.promises.rename(partial, spoolPath);
      await syncDirectory(this.deps.spoolDir);
      return written;
    } catch (error) {
      if (target && !target.closed) await new Promise((resolve) => target!.destroy().once('close', resolve));
      await fs.promises.rm(partial, { force: true });
      throw error;
    } finally {
      await source.close();
    }
  }
}
