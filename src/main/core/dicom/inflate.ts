import fs from 'node:fs';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

/**
 * Inflates the raw-deflate bytes of `input` (PS3.5 A.5: the data set after the file meta is one raw deflate stream)
 * into `output`, the file `target`, as a stream. Memory stays at a few zlib buffers whatever the ratio; past
 * `maxBytes` of output the stream stops at once and `tooLarge` is thrown, and the partial target is removed.
 */
export async function inflateToFile(input: Readable, output: Writable, target: string, maxBytes: number, tooLarge: (maxBytes: number) => Error): Promise<number> {
  let total = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      if (total > maxBytes) return done(tooLarge(maxBytes));
      done(null, chunk);
    },
  });
  try {
    await pipeline(input, zlib.createInflateRaw({ chunkSize: 64 * 1024 }), cap, output);
    return total;
  } catch (error) {
    await fs.promises.rm(target, { force: true });
    if (total > maxBytes) throw tooLarge(maxBytes);
    if ((error as { code?: string }).code?.startsWith('Z_')) throw new InflateError((error as Error).message, error);
    throw error;
  }
}

/** The bytes are not a valid raw deflate stream. */
export class InflateError extends Error {
  constructor(message: string, cause: unknown) {
    super(`The deflated data set cannot be inflated: ${message}`, { cause });
    this.name = 'InflateError';
  }
}
