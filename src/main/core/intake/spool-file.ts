import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { isOutOfSpace } from '../durable';
import { createSealedWriteStream, type SealedFileWriter, type SealingKey } from '../store';
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
 * A Writable that seals what a sender sends into a spool file (store/sealed-file: no clear byte of an original
 * reaches the disk) and fsyncs it before it reports 'finish'. A sender's PDVs are small (storescu: 16 KB): they are
 * gathered into writes of half a megabyte. The free-space floor is asked before each write, and the SHA-256 of
 * the clear bytes (how a resend is recognised) is kept.
 */
export function durableFileStream(file: string, head: Buffer, key: SealingKey, checkSpace?: SpaceCheck): SpoolStream {
  // Opened off the main thread (writes wait for it): creating a file can wait on the file system's journal while
  // other instances sync. Its failures (the folder gone, the disk full) reach the write or end that meets them.
  const sealed: SealedFileWriter = createSealedWriteStream(file, key);
  sealed.on('error', () => undefined);
  let gathered: Buffer[] = [head];
  let gatheredBytes = head.length;
  const hash = crypto.createHash('sha256');
  const failed = (error: Error): Error => {
    if (error instanceof IntakeRefusal) return error;
    const code = (error as NodeJS.ErrnoException).code;
    // The spool folder gone (removed under the gateway) is a local resource missing: the sender may try again later.
    if (code === 'ENOENT') return new IntakeRefusal(`the spool folder cannot be written: ${code}`, STORE_STATUS.outOfResources, false);
    return outOfSpace(error) ?? error;
  };
  const flush = (done: (error?: Error | null) => void): void => {
    const buffers = gathered;
    const bytes = gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
    if (buffers.length === 0) return done();
    const refusal = checkSpace?.(stream.bytes, bytes);
    if (refusal) return done(new IntakeRefusal(refusal, STORE_STATUS.outOfResources, false));
    const block = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers, bytes);
    sealed.write(block, (error) => {
      // Failed: count no more than reached the disk (the sealed file's bytes, less its 64-byte header, bound that).
      if (error) {
        stream.bytes = Math.min(stream.bytes, Math.max(0, sealed.fileBytes - 64));
        return done(failed(error));
      }
      stream.bytes += bytes;
      hash.update(block);
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
    write: (chunk: Buffer, _enc, done) => gather([chunk], done),
    writev: (chunks: Array<{ chunk: Buffer }>, done) => gather(chunks.map((c) => c.chunk), done),
    final(done) {
      flush((error) => {
        if (error) return done(error);
        // The sealed writer seals the last chunk and fsyncs the file before it finishes.
        sealed.end((endError?: Error | null) => {
          if (endError) return done(failed(endError));
          stream.sha256 = hash.digest('hex');
          done();
        });
      });
    },
    destroy(error, done) {
      // A failed write leaves nothing behind: the partial file goes at once, before the sender is answered. The sealed
      // writer closes its file only once a write under way has ended (no file number closed twice or under a write).
      const removePartial = (): void => {
        if (!error) return done(null);
        fs.rm(file, { force: true }, () => done(error));
      };
      if (sealed.closed) return removePartial();
      sealed.once('close', removePartial);
      sealed.destroy();
    },
  }) as SpoolStream;
  stream.file = file;
  stream.bytes = 0;
  return stream;
}
