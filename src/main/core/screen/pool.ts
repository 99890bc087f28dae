import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ScreeningJob, ScreeningOutcome } from './screen-file';

export class ScreeningFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScreeningFailed';
  }
}

export interface ScreeningPool {
  screen(job: ScreeningJob): Promise<ScreeningOutcome>;
  /** Waits for the jobs in progress, then ends the threads. */
  close(): Promise<void>;
}

/** Threads for screening: at least one, and one core left for intake, de-identification and uploads. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

/**
 * Starts a screening thread: the bundle `dist/main/screen-worker.js` (scripts/build-main.mjs) beside the bundle
 * this module is in, one folder below; from source (tests, tsx), worker.ts beside this module, through tsx's loader
 * (a worker does not inherit the loader its parent was started with).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('../screen-worker.js', import.meta.url));
  const source = new URL('./worker.ts', import.meta.url).href;
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`, { eval: true });
}

interface Slot {
  worker: Worker;
  busy?: { id: number; resolve(outcome: ScreeningOutcome): void; reject(error: Error): void };
}

/**
 * A pool of screening threads: OCR and decoding are CPU work of seconds per image, kept off the thread that
 * serves the DICOM port and the API. Jobs wait in order for a free thread; a thread that dies fails its job and is
 * replaced.
 */
export function createScreeningPool(size = defaultPoolSize()): ScreeningPool {
  const waiting: Array<{ job: ScreeningJob; resolve(o: ScreeningOutcome): void; reject(e: Error): void }> = [];
  const slots: Slot[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let nextId = 1;
  let closing = false;

  const spawn = (): Slot => {
    const slot: Slot = { worker: startWorker() };
    slot.worker.on('message', (message: { id: number; outcome?: ScreeningOutcome; error?: { name: string; message: string } }) => {
      const busy = slot.busy;
      if (!busy || busy.id !== message.id) return;
      slot.busy = undefined;
      if (message.outcome) busy.resolve(message.outcome);
      else busy.reject(new ScreeningFailed(`Screening failed: ${message.error?.message ?? 'unknown error'}`));
      next(slot);
    });
    slot.worker.on('error', (error) => {
      slot.busy?.reject(new ScreeningFailed(`Screening thread stopped: ${error.message}`));
      slot.busy = undefined;
    });
    slot.worker.on('exit', () => {
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
      slot.busy?.reject(new ScreeningFailed('Screening thread stopped'));
      slot.busy = undefined;
      if (!closing && waiting.length > 0) next(spawnSlot());
    });
    return slot;
  };
  const spawnSlot = (): Slot => {
    const slot = spawn();
    slots.push(slot);
    return slot;
  };
  const next = (slot: Slot): void => {
    const item = waiting.shift();
    if (!item) return;
    const id = nextId++;
    slot.busy = { id, resolve: item.resolve, reject: item.reject };
    slot.worker.postMessage({ id, job: item.job });
  };

  return {
    screen(job) {
      if (closing) return Promise.reject(new ScreeningFailed('Screening is stopping'));
      const outcome = new Promise<ScreeningOutcome>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        const idle = slots.find((s) => !s.busy) ?? (slots.length < size ? spawnSlot() : undefined);
        if (idle && !idle.busy) next(idle);
      });
      const settled = outcome.catch(() => undefined).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
      return outcome;
    },
    async close() {
      closing = true;
      for (const item of waiting.splice(0)) item.reject(new ScreeningFailed('Screening is stopping'));
      await Promise.all([...inFlight]);
      await Promise.all(
        slots.map(async (slot) => {
          const exited = new Promise((r) => slot.worker.once('exit', r));
          slot.worker.postMessage({ close: true });
          await exited;
        }),
      );
    },
  };
}
