import fs from 'node:fs';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';

/** The spool file of one C-STORE, with what we know of it from the request. */
export type SpoolStream = Writable & { file: string; bytes: number; sopInstanceUid: string; sopClassUid: string; failure?: Error; settled?: boolean };

/** Appends every byte of `buffers` to `fd`, going on after a short write (which a file system may make). */
export function writeAll(fd: number, buffers: Buffer[], done: (error: Error | null, written: number) => void, written = 0): void {
  fs.writev(fd, buffers, null, (error, n) => {
    if (error) return done(error, written);
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
export function durableFileStream(file: string, head: Buffer): SpoolStream {
  let fd = -1;
  let closed = false;
  let gathered: Buffer[] = [head];
  let gatheredBytes = head.length;
  const flush = (done: (error?: Error | null) => void): void => {
    const buffers = gathered;
    gathered = [];
    gatheredBytes = 0;
    if (buffers.length === 0) return done();
    writeAll(fd, buffers, (error, written) => {
      stream.bytes += written;
      done(error);
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
        done(error);
      });
    },
    write: (chunk: Buffer, _enc, done) => gather([chunk], done),
    writev: (chunks: Array<{ chunk: Buffer }>, done) => gather(chunks.map((c) => c.chunk), done),
    final(done) {
      flush((error) => {
        if (error) return done(error);
        fs.fsync(fd, (syncError) => {
          closed = true;
          fs.close(fd, (closeError) => done(syncError ?? closeError));
        });
      });
    },
    destroy(error, done) {
      // Runs after final() too (autoDestroy): closing the number twice could close a file someone else opened since.
      if (closed || fd < 0) return done(error);
      closed = true;
      fs.close(fd, () => done(error));
    },
  }) as SpoolStream;
  stream.file = file;
  stream.bytes = 0;
  return stream;
}
