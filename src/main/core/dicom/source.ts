import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';

/** Random access to the bytes of an instance, whether it sits in a file or in memory. */
export interface ByteSource {
  readonly size: number;
  /** Returns exactly `length` bytes at `offset`, or throws if the source is shorter. */
  read(offset: number, length: number): Buffer;
  close(): void;
}

export class TruncatedDataError extends Error {
  constructor(offset: number, wanted: number, size: number) {
    super(`DICOM data ends early: needed ${wanted} bytes at offset ${offset}, but the data has ${size} bytes`);
    this.name = 'TruncatedDataError';
  }
}

export class BufferSource implements ByteSource {
  constructor(private readonly buffer: Buffer) {}
  get size(): number {
    return this.buffer.length;
  }
  read(offset: number, length: number): Buffer {
    if (offset < 0 || offset + length > this.buffer.length) throw new TruncatedDataError(offset, length, this.buffer.length);
    return this.buffer.subarray(offset, offset + length);
  }
  close(): void {}
}

const WINDOW = 1 << 20;

/**
 * Reads a file through a 1 MB window, so that parsing the header of a 1 GB instance
 * touches only the bytes it needs; pixel data is skipped by offset, never read here.
 */
export class FileSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private window = Buffer.alloc(0);
  private windowStart = 0;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Buffer {
    if (offset < 0 || offset + length > this.size) throw new TruncatedDataError(offset, length, this.size);
    const end = offset + length;
    if (offset >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, end - this.windowStart);
    }
    const want = Math.min(Math.max(length, WINDOW), this.size - offset);
    const buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const n = fs.readSync(this.fd, buffer, filled, want - filled, offset + filled);
      if (n === 0) throw new TruncatedDataError(offset, length, offset + filled);
      filled += n;
    }
    this.window = buffer;
    this.windowStart = offset;
    return buffer.subarray(0, length);
  }

  /** Safe to call twice: a second closeSync of the number could close a file someone else opened since. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

/**
 * How the files that hold originals are read, and their temporary copies written: in clear (tests, tools), or
 * sealed (the gateway's spool and quarantine: store/sealed-file). The parser and the writer take one of these, so
 * no code path reads an original's bytes from disk around it.
 */
export interface InstanceFiles {
  open(file: string): ByteSource;
  /** A new file for a temporary copy (an inflated data set); it may only be read back through open(). */
  createWriteStream(file: string): Writable;
}

export const clearFiles: InstanceFiles = {
  open: (file) => new FileSource(file),
  createWriteStream: (file) => fs.createWriteStream(file, { mode: 0o600 }),
};

/** The bytes of a source from `start` to its end, as a stream read a megabyte at a time. */
export function readableOf(source: ByteSource, start: number): Readable {
  return Readable.from(
    (function* chunks() {
      for (let at = start; at < source.size; at += WINDOW) yield Buffer.from(source.read(at, Math.min(WINDOW, source.size - at)));
    })(),
  );
}
