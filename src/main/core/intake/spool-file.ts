import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { isOutOfSpace } from '../durable';
import { IntakeRefusal, STORE_STATUS } from './admission';

/** The spool file of one C-STORE, with what we know of it from the request. */
export type SpoolStream = Writable & {
  /** The sender left after the last fragment, while the file was being synced: it is dropped once that ends. */
  abandoned?: boolean;
  file: string;
  bytes: number;
  sopInstanceUid: string;
  sopClassUid: string;
  failure?: Error;
  settled?: boolean;
  /** SHA-256 of every byte written (file meta included), once the file is complete: how a resend is recognised. */
  sha256?: string;
};

/**
 * Asked before each write of `bytes` more, with `written` already in the file: a reason refuses the instance
 * (0xA700) while it is still arriving, so one large instance cannot pass the free-space floor it started above.
 */
export type SpaceCheck = (written: number, bytes: number) => string | undefined;

/** What the sender is told when the disk runs out under a write: out of resources, try again later (never 0x0110). */
export function outOfSpace(error: unknown): IntakeRefusal | undefined {
  return isOutOfSpace(error) ? new IntakeRefusal('Disk full: the gateway cannot store the instance now, try again later', STORE_STATUS.outOfResources, false) : undefined;
}

/** Appends every byte of `buffers` to `fd`, going on after a short write (which a file system may make). */
export function writeAll(fd: number, buffers: Buffer[], done: (error: Error | null, written: number) => void, written = 0): void {
  fs.writev(fd, buffers, null, (error, n) => {
    if (error) return done(error, written);
    // A write that takes nothing and does not fail would loop for ever: the disk refuses, as with ENOSPC.
    if (n === 0 && buffers.some((b) => b.length > 0)) return done(Object.assign(new Error('No space left on device (a write made no progress)'), { code: 'ENOSPC' }), written);
    let rest = n;
    const left: Buffer[] = [];
    for (const b of buffers) {
      if (rest >= b.length) rest -= b.length;
      else {
        left.push(b.subarray(rest));
        rest = 0;
      }
    }
    if (left.length === 0) return done(null, written + n);
    writeAll(fd, left, done, written + n);
  });
}

/**
 * Back-pressure from the spool file to the sender: dcmjs-dimse writes every PDV it parses without waiting, and
 * keeps reading the socket into one growing buffer; pausing the socket while the file lags keeps memory flat.
 */
export function pauseWhileBehind(stream: Writable, socket: Socket): void {
  const write = stream.write.bind(stream) as (chunk: Buffer) => boolean;
  let paused = false;
  const resume = (): void => {
    if (!paused) return;
    paused = false;
    socket.resume();
  };
  stream.write = ((chunk: Buffer) => {
    const ok = write(chunk);
    // A stream that failed (its file could not be opened) never drains: the data is swallowed instead.
    if (!ok && !paused && !stream.destroyed) {
      paused = true;
      socket.pause();
      stream.once('drain', resume);
    }
    return ok;
  }) as Writable['write'];
  stream.once('close', resume);
  stream.once('error', resume);
}

/** What a spool file gathers before it writes: few file-system calls per instance, little memory per association. */
const SPOOL_WRITE_BYTES = 512 * 1024;

/**
 * A Writable that appends to a file and fsyncs before it reports 'finish'. A sender's PDVs are small (storescu:
 * 16 KB): they are gathered into writes of half a megabyte, instead of one round trip to the file system each
 * (which cost more than the rest of a small instance's intake).
 */
export function durableFileStream(file: string, head: Buffer, checkSpace?: SpaceCheck): SpoolStream {
  let fd = -1;
  let closed = false;
  // File operations in flight, and the close that waits for them: a sender that drops mid-sync must not have its
  // file's number closed under a write or sync (the number could be reused by a socket, which libuv then aborts on).
  let busy = 0;
  let closeWhenIdle: (() => void) | undefined;
  const started = (): void => {
    busy += 1;
  };
  const ended = (): void => {
    busy -= 1;
    if (busy === 0 && closeWhenIdle) {
      const close = closeWhenIdle;
      closeWhenIdle = undefined;
      close();
    }
  };
  let gathered: Buffer[] = [head];
  let gatheredBytes = head.length;
  const hash = crypto.createHash('sha256');
  const flush = (done: (error?: Error | null) => void): void => {
    const buffers = gathered;
    const bytes = gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
    if (buffers.length === 0) return done();
    const refusal = checkSpace?.(stream.bytes, bytes);
    if (refusal) return done(new IntakeRefusal(refusal, STORE_STATUS.outOfResources, false));
    started();
    writeAll(fd, buffers, (error, written) => {
      ended();
      stream.bytes += written;
      if (error) return done(outOfSpace(error) ?? error);
      for (const b of buffers) hash.update(b);
      done();
    });
  };
  const gather = (chunks: Buffer[], done: (error?: Error | null) => void): void => {
    for (const chunk of chunks) {
      gathered.push(chunk);
      gatheredBytes += chunk.length;
    }
    if (gatheredBytes >= SPOOL_WRITE_BYTES) flush(done);
    else done();
  };
  const stream = new Writable({
    highWaterMark: 1 << 20,
    // Opened off the main thread (writes wait for it): creating a file can wait on the file system's journal
    // while other instances sync, and a synchronous open held up every association meanwhile.
    construct(done) {
      fs.open(file, 'w', 0o600, (error, opened) => {
        if (!error) fd = opened;
        // The spool folder gone (removed under the gateway) is a local resource missing: the sender may try again later.
        if (error?.code === 'ENOENT') return done(new IntakeRefusal(`the spool folder cannot be written: ${error.code}`, STORE_STATUS.outOfResources, false));
        done(error ? (outOfSpace(error) ?? error) : null);
      });
    },
    write: (chunk: Buffer, _enc, done) => gather([chunk], done),
    writev: (chunks: Array<{ chunk: Buffer }>, done) => gather(chunks.map((c) => c.chunk), done),
    final(done) {
      flush((error) => {
        if (error) return done(error);
        started();
        fs.fsync(fd, (syncError) => {
          ended();
          // Destroyed meanwhile (the sender left): the destroy closed the file once the sync was done.
          if (closed) return done(syncError ?? new Error('the spool file was abandoned'));
          closed = true;
          stream.sha256 = hash.digest('hex');
          fs.close(fd, (closeError) => {
            const failure = syncError ?? closeError;
            done(failure ? (outOfSpace(failure) ?? failure) : null);
          });
        });
      });
    },
    destroy(error, done) {
      // A failed write leaves nothing behind: the partial file goes at once, before the sender is answered.
      const removePartial = (): void => {
        if (!error) return done(null);
        fs.rm(file, { force: true }, () => done(error));
      };
      // Runs after final() too (autoDestroy): closing the number twice could close a file someone else opened since.
      if (closed || fd < 0) return removePartial();
      closed = true;
      const close = (): void => fs.close(fd, removePartial);
      if (busy > 0) closeWhenIdle = close;
      else close();
    },
  }) as SpoolStream;
  stream.file = file;
  stream.bytes = 0;
  return stream;
}
