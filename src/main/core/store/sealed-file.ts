import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ByteSource, InstanceFiles } from '../dicom/source';
import { TruncatedDataError } from '../dicom/source';
import { syncDirectory } from '../durable';

/*
 * Sealed files: how originals (spool, quarantine) sit on disk, so that no PHI byte is ever written in clear.
 *
 * Layout, version 1 (all integers big-endian):
 *
 *   header, 64 bytes   magic "DGSEALED" (8) | version = 1 (1) | log2 of the chunk size (1) | zeros (6)
 *                      | salt (32, random per file) | header tag (16)
 *   chunk 0 … n-1      AES-256-GCM ciphertext of `chunkSize` clear bytes (the last one: 0 … chunkSize) | tag (16)
 *
 * Per file, HKDF-SHA256(sealing key, salt, "chunks and header") gives a chunk key and a header key. Because
 * the chunk key is new for every file (a fresh 256-bit salt), the nonce can be the chunk's position: nonce =
 * chunk index (8 bytes) | 1 if it is the last chunk else 0 (4 bytes); no (key, nonce) pair is used twice.
 * GCM authenticates the nonce, so a chunk moved to another place, a file cut at a chunk boundary (the new
 * last chunk was not sealed as last) or data appended after the last chunk fail their check. The header tag
 * (HMAC-SHA256 under the header key, cut to 16 bytes) covers magic, version, chunk size and salt, and is
 * what tells a file sealed with another key apart before any chunk is read.
 *
 * An empty original still has one (empty) last chunk, so a file cut down to its header is detected too.
 */

const MAGIC = Buffer.from('DGSEALED', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 64;
const HEADER_SIGNED_BYTES = 48;
const SALT_OFFSET = 16;
const TAG_BYTES = 16;
/** 256 KiB: small enough that a parser's scattered header reads decrypt little, large enough that tags cost 0.006 %. */
export const DEFAULT_CHUNK_SHIFT = 18;
const MIN_CHUNK_SHIFT = 12;
const MAX_CHUNK_SHIFT = 24;

/** Fixed HKDF label of the sealing key: changing it would make every sealed file unreadable. */
const SEALING_KEY_LABEL = 'deid-gateway sealed spool and quarantine files v1';
const PER_FILE_LABEL = 'deid-gateway sealed file v1: chunk key and header key';

/** A file that is not what this gateway sealed: altered, cut short, extended, or sealed with another key. */
export class SealedFileDamaged extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`The spooled instance is damaged or was altered (${detail}); it cannot be read`);
    this.name = 'SealedFileDamaged';
  }
}

/** A sealed file from a newer gateway (a later format version): not damaged, but not readable by this one. */
export class SealedFileTooNew extends Error {
  constructor(
    readonly file: string,
    readonly version: number,
  ) {
    super(`The spooled instance was sealed by a newer version of the gateway (format ${version}); update the gateway to read it`);
    this.name = 'SealedFileTooNew';
  }
}

/** The key every sealed file of one gateway derives its own keys from. Holds no secret in its printed form. */
export class SealingKey {
  readonly #bytes: Buffer;
  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  static fromBytes(bytes: Buffer): SealingKey {
    if (bytes.length !== 32) throw new Error('A sealing key is 32 bytes');
    return new SealingKey(Buffer.from(bytes));
  }
  /** Per-file keys for a file's salt. */
  fileKeys(salt: Buffer): { chunkKey: Buffer; headerKey: Buffer } {
    const okm = Buffer.from(crypto.hkdfSync('sha256', this.#bytes, salt, PER_FILE_LABEL, 64));
    return { chunkKey: okm.subarray(0, 32), headerKey: okm.subarray(32, 64) };
  }
  toJSON(): string {
    return '[sealing key]';
  }
}

/**
 * The sealing key, derived from the database key (64 hex characters, from the same secret store) with
 * HKDF-SHA256 and a fixed label: no second secret to keep, and knowing the file key does not give the database one.
 */
export function deriveSealingKey(databaseKey: string): SealingKey {
  if (!/^[0-9a-fA-F]{64}$/.test(databaseKey)) throw new Error('Database key must be 64 hex characters (256 bits)');
  return SealingKey.fromBytes(Buffer.from(crypto.hkdfSync('sha256', Buffer.from(databaseKey, 'hex'), Buffer.alloc(0), SEALING_KEY_LABEL, 32)));
}

function chunkNonce(index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 0);
  nonce.writeUInt32BE(last ? 1 : 0, 8);
  return nonce;
}

function headerTag(headerKey: Buffer, header: Buffer): Buffer {
  return crypto.createHmac('sha256', headerKey).update(header.subarray(0, HEADER_SIGNED_BYTES)).digest().subarray(0, TAG_BYTES);
}

/** Seals one chunk: its ciphertext then its tag, as the buffers to write (not joined: that would be one more copy). */
function sealChunk(chunkKey: Buffer, index: number, last: boolean, clear: Buffer): Buffer[] {
  const cipher = crypto.createCipheriv('aes-256-gcm', chunkKey, chunkNonce(index, last));
  const body = cipher.update(clear);
  const rest = cipher.final();
  return rest.length > 0 ? [body, rest, cipher.getAuthTag()] : [body, cipher.getAuthTag()];
}

/** The header, and the per-file chunk key, for a new file. */
function newHeader(key: SealingKey, chunkShift: number): { header: Buffer; chunkKey: Buffer } {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[8] = VERSION;
  header[9] = chunkShift;
  const salt = crypto.randomBytes(32);
  salt.copy(header, SALT_OFFSET);
  const { chunkKey, headerKey } = key.fileKeys(salt);
  headerTag(headerKey, header).copy(header, HEADER_SIGNED_BYTES);
  return { header, chunkKey };
}

/** What a sealed file's header and length say about it, once its header tag checked out. */
interface SealedLayout {
  chunkKey: Buffer;
  chunkSize: number;
  chunks: number;
  lastClearBytes: number;
  clearSize: number;
}

function readLayout(file: string, header: Buffer, fileSize: number, key: SealingKey): SealedLayout {
  if (fileSize < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) throw new SealedFileDamaged(file, 'it is empty or not a sealed file');
  if (header[8]! > VERSION) throw new SealedFileTooNew(file, header[8]!);
  const { chunkKey, headerKey } = key.fileKeys(header.subarray(SALT_OFFSET, SALT_OFFSET + 32));
  if (!crypto.timingSafeEqual(headerTag(headerKey, header), header.subarray(HEADER_SIGNED_BYTES, HEADER_BYTES))) {
    throw new SealedFileDamaged(file, 'its header does not match this gateway\u2019s key: altered, or sealed with another key');
  }
  // Checked after the tag, so these bytes are known to be the writer's.
  const chunkShift = header[9]!;
  if (header[8] !== VERSION || chunkShift < MIN_CHUNK_SHIFT || chunkShift > MAX_CHUNK_SHIFT) throw new SealedFileDamaged(file, 'its header is not valid');
  const chunkSize = 2 ** chunkShift;
  const body = fileSize - HEADER_BYTES;
  const stride = chunkSize + TAG_BYTES;
  const chunks = Math.max(1, Math.ceil(body / stride));
  const lastClearBytes = body - (chunks - 1) * stride - TAG_BYTES;
  if (lastClearBytes < 0) throw new SealedFileDamaged(file, 'it ends inside a chunk');
  return { chunkKey, chunkSize, chunks, lastClearBytes, clearSize: (chunks - 1) * chunkSize + lastClearBytes };
}

function openChunk(file: string, layout: SealedLayout, index: number, sealed: Buffer): Buffer {
  const last = index === layout.chunks - 1;
  const decipher = crypto.createDecipheriv('aes-256-gcm', layout.chunkKey, chunkNonce(index, last));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    // What came out of a chunk that failed its check is not the original's: wiped, never handed on.
    body.fill(0);
    throw new SealedFileDamaged(file, `chunk ${index + 1} of ${layout.chunks} failed its integrity check`);
  }
  return body;
}

const chunkPosition = (layout: SealedLayout, index: number): number => HEADER_BYTES + index * (layout.chunkSize + TAG_BYTES);
const sealedChunkBytes = (layout: SealedLayout, index: number): number => (index === layout.chunks - 1 ? layout.lastClearBytes : layout.chunkSize) + TAG_BYTES;

/** Chunks kept decrypted per open file: a parser goes back and forth over a few neighbouring ones. */
const CACHED_CHUNKS = 4;
/** What the whole-file stream reads from the file at a time. */
const STREAM_READ_BYTES = 1 << 20;

/**
 * Random access to the clear bytes of a sealed file, decrypting only the chunks a read touches (with a small
 * cache). Every byte it returns has passed its chunk's check; a chunk no read touches is not checked. The last
 * chunk is checked on open, so `size` is the writer's and a cut or extended file is refused at once.
 */
export class SealedInstanceSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  private readonly layout: SealedLayout;
  private readonly cache = new Map<number, Buffer>();
  private sealedChunk: Buffer | undefined;
  private closed = false;

  constructor(readonly path: string, key: SealingKey) {
    this.fd = fs.openSync(path, 'r');
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      const fileSize = fs.fstatSync(this.fd).size;
      this.readFully(header, 0, Math.min(HEADER_BYTES, fileSize));
      this.layout = readLayout(path, header, fileSize, key);
      this.size = this.layout.clearSize;
      this.chunk(this.layout.chunks - 1);
    } catch (error) {
      fs.closeSync(this.fd);
      throw error;
    }
  }

  read(offset: number, length: number): Buffer {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new TruncatedDataError(offset, length, this.size);
    }
    if (length === 0) return Buffer.alloc(0);
    const { chunkSize } = this.layout;
    const first = Math.floor(offset / chunkSize);
    const last = Math.floor((offset + length - 1) / chunkSize);
    if (first === last) return this.chunk(first).subarray(offset - first * chunkSize, offset - first * chunkSize + length);
    const out = Buffer.allocUnsafe(length);
    for (let i = first; i <= last; i++) {
      // Chunks a long read passes through (pixel data copied in pieces) are not kept: they would push out the ones
      // a parser comes back to.
      const clear = i === first || i === last ? this.chunk(i) : this.decrypt(i);
      const from = Math.max(offset, i * chunkSize);
      const to = Math.min(offset + length, (i + 1) * chunkSize);
      clear.copy(out, from - offset, from - i * chunkSize, to - i * chunkSize);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    fs.closeSync(this.fd);
  }

  private chunk(index: number): Buffer {
    const cached = this.cache.get(index);
    if (cached) {
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const clear = this.decrypt(index);
    this.cache.set(index, clear);
    if (this.cache.size > CACHED_CHUNKS) this.cache.delete(this.cache.keys().next().value!);
    return clear;
  }

  private decrypt(index: number): Buffer {
    // One buffer for the ciphertext, reused: the clear text is a new buffer (callers may keep what read() gave).
    this.sealedChunk ??= Buffer.allocUnsafe(this.layout.chunkSize + TAG_BYTES);
    const sealed = this.sealedChunk.subarray(0, sealedChunkBytes(this.layout, index));
    this.readFully(sealed, chunkPosition(this.layout, index), sealed.length);
    return openChunk(this.path, this.layout, index, sealed);
  }

  private readFully(into: Buffer, position: number, length: number): void {
    let filled = 0;
    while (filled < length) {
      const n = fs.readSync(this.fd, into, filled, length - filled, position + filled);
      // The file shrank after it was opened (its layout came from its length then).
      if (n === 0) throw new SealedFileDamaged(this.path, 'it ends early');
      filled += n;
    }
  }
}

/** Opens a sealed original for the parser and the writer: a `ByteSource` over its clear bytes. */
export function openSealedInstance(file: string, key: SealingKey): SealedInstanceSource {
  return new SealedInstanceSource(file, key);
}

async function writeAll(fd: number, buffers: Buffer[]): Promise<void> {
  const pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let written = await new Promise<number>((resolve, reject) => fs.writev(fd, pending, (error, n) => (error ? reject(error) : resolve(n))));
    // A short write: drop what went out and go on with the rest.
    while (pending.length > 0 && written >= pending[0]!.length) written -= pending.shift()!.length;
    if (written > 0 && pending.length > 0) pending[0] = pending[0]!.subarray(written);
  }
}

/**
 * A Writable that seals what it is given into a new file (created 0600, never over an existing one) and fsyncs
 * it before 'finish'. Only sealed bytes reach the disk: a crash mid-write leaves a file with no valid last chunk,
 * which no reader accepts (the caller, or the start-up clean-up of unreferenced files, removes it).
 */
export class SealedFileWriter extends Writable {
  /** Clear bytes accepted so far. */
  clearBytes = 0;
  /** Bytes written to the file so far. */
  fileBytes = 0;
  private fd = -1;
  private fdClosed = false;
  private index = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly chunkSize: number;
  private readonly chunkKey: Buffer;
  private header: Buffer | undefined;
  /** The write under way: the next chunks are encrypted meanwhile, so the cipher and the disk work at once. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    key: SealingKey,
    options: { chunkShift?: number } = {},
  ) {
    super({ highWaterMark: 1 << 20 });
    const shift = options.chunkShift ?? DEFAULT_CHUNK_SHIFT;
    if (!Number.isInteger(shift) || shift < MIN_CHUNK_SHIFT || shift > MAX_CHUNK_SHIFT) throw new Error(`chunk size must be 2^${MIN_CHUNK_SHIFT} … 2^${MAX_CHUNK_SHIFT}`);
    this.chunkSize = 2 ** shift;
    const { header, chunkKey } = newHeader(key, shift);
    this.header = header;
    this.chunkKey = chunkKey;
  }

  override _construct(done: (error?: Error | null) => void): void {
    fs.open(this.file, 'wx', 0o600, (error, fd) => {
      if (!error) this.fd = fd;
      done(error);
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.gather([chunk], done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (error?: Error | null) => void): void {
    this.gather(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  override _final(done: (error?: Error | null) => void): void {
    const last = this.seal(this.take(this.pendingBytes), true);
    this.queue(last)
      .then(() => new Promise<void>((resolve, reject) => fs.fsync(this.fd, (error) => (error ? reject(error) : resolve()))))
      .then(
        () => {
          this.fdClosed = true;
          fs.close(this.fd, (error) => done(error));
        },
        (error: Error) => done(error),
      );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // Runs after _final too (autoDestroy): closing the number twice could close a file someone else opened since;
    // and a write still under way must end first, or it could land in a file opened since under the same number.
    const close = (): void => {
      if (this.fdClosed || this.fd < 0) return done(error);
      this.fdClosed = true;
      fs.close(this.fd, () => done(error));
    };
    this.writing.then(close, close);
  }

  private gather(chunks: Buffer[], done: (error?: Error | null) => void): void {
    for (const chunk of chunks) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      this.clearBytes += chunk.length;
    }
    // A full chunk is sealed only once more data follows it: until then it may be the last one.
    const sealed: Buffer[] = [];
    while (this.pendingBytes > this.chunkSize) sealed.push(...this.seal(this.take(this.chunkSize), false));
    if (sealed.length === 0) return done();
    // Accepts more as soon as the previous write is done, while this one goes to disk.
    const previous = this.writing;
    this.queue(sealed);
    previous.then(() => done(), done);
  }

  /** Queues sealed buffers after the write under way; the returned promise is that of the new write. */
  private queue(sealed: Buffer[]): Promise<void> {
    const buffers = this.header ? [this.header, ...sealed] : sealed;
    this.header = undefined;
    const write = this.writing.then(async () => {
      await writeAll(this.fd, buffers);
      for (const b of buffers) this.fileBytes += b.length;
    });
    // Its failure is reported through the next write's callback, or _final's; never left unhandled.
    write.catch(() => undefined);
    this.writing = write;
    return write;
  }

  /** The first `bytes` of what is pending, as one buffer, copied only where it spans two of the caller's buffers. */
  private take(bytes: number): Buffer {
    const first = this.pending[0];
    let taken: Buffer;
    if (!first || first.length >= bytes) {
      taken = first ? first.subarray(0, bytes) : Buffer.alloc(0);
      if (first && first.length === bytes) this.pending.shift();
      else if (first) this.pending[0] = first.subarray(bytes);
    } else {
      taken = Buffer.allocUnsafe(bytes);
      let at = 0;
      while (at < bytes) {
        const piece = this.pending[0]!;
        const n = Math.min(piece.length, bytes - at);
        piece.copy(taken, at, 0, n);
        at += n;
        if (n === piece.length) this.pending.shift();
        else this.pending[0] = piece.subarray(n);
      }
    }
    this.pendingBytes -= bytes;
    return taken;
  }

  private seal(clear: Buffer, last: boolean): Buffer[] {
    return sealChunk(this.chunkKey, this.index++, last, clear);
  }
}

/** A writer for a new sealed file; see `SealedFileWriter`. */
export function createSealedWriteStream(file: string, key: SealingKey, options: { chunkShift?: number } = {}): SealedFileWriter {
  return new SealedFileWriter(file, key, options);
}

/** Writes `clear` as a new sealed file, synced (for originals already in memory, and for tests). */
export async function writeSealedFile(file: string, clear: Buffer, key: SealingKey, options: { chunkShift?: number } = {}): Promise<void> {
  const writer = createSealedWriteStream(file, key, options);
  await new Promise<void>((resolve, reject) => {
    writer.once('error', reject);
    writer.once('finish', resolve);
    writer.end(clear);
  });
}

/**
 * The clear bytes of a sealed file, in order, chunk by chunk (for uploads, previews, checksums): each chunk is
 * checked before it is passed on, and a damaged one ends the stream with `SealedFileDamaged`.
 */
export function createSealedReadStream(file: string, key: SealingKey): Readable {
  let handle: fs.promises.FileHandle | undefined;
  let layout: SealedLayout | undefined;
  let index = 0;
  let sealedRun: Buffer | undefined;
  const readExactly = async (h: fs.promises.FileHandle, length: number, position: number, into: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> => {
    const buffer = into.subarray(0, length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await h.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) throw new SealedFileDamaged(file, 'it ends early');
      filled += bytesRead;
    }
    return buffer;
  };
  return new Readable({
    highWaterMark: 1 << 20,
    construct(done) {
      (async () => {
        handle = await fs.promises.open(file, 'r');
        const { size } = await handle.stat();
        const header = size >= HEADER_BYTES ? await readExactly(handle, HEADER_BYTES, 0) : Buffer.alloc(HEADER_BYTES);
        layout = readLayout(file, header, size, key);
      })().then(
        () => done(),
        (error: Error) => done(error),
      );
    },
    read() {
      (async () => {
        const l = layout!;
        if (index >= l.chunks) return this.push(null);
        // About a megabyte of chunks per read from the file: one read per chunk cost more than their decryption.
        const stride = l.chunkSize + TAG_BYTES;
        const count = Math.min(l.chunks - index, Math.max(1, Math.floor(STREAM_READ_BYTES / stride)));
        const lastOfRun = index + count - 1;
        const runBytes = chunkPosition(l, lastOfRun) + sealedChunkBytes(l, lastOfRun) - chunkPosition(l, index);
        // The ciphertext buffer is reused: it is consumed before push(), which may call read() again at once.
        sealedRun ??= Buffer.allocUnsafe(Math.max(1, Math.floor(STREAM_READ_BYTES / stride)) * stride);
        const run = await readExactly(handle!, runBytes, chunkPosition(l, index), sealedRun);
        const clear: Buffer[] = [];
        for (let k = 0; k < count; k++) clear.push(openChunk(file, l, index + k, run.subarray(k * stride, k * stride + sealedChunkBytes(l, index + k))));
        index += count;
        const joined = clear.length === 1 ? clear[0]! : Buffer.concat(clear);
        // Only an empty original has an empty chunk (its last): end here, nothing else would call read() again.
        // One push per read(): a push may call read() again at once, which must find every chunk of this run out.
        if (joined.length === 0) return this.push(null);
        this.push(joined);
      })().catch((error: Error) => this.destroy(error));
    },
    destroy(error, done) {
      const h = handle;
      handle = undefined;
      if (!h) return done(error);
      h.close().then(
        () => done(error),
        () => done(error),
      );
    },
  });
}

/** The whole clear content of a sealed file (a preview decodes the whole image anyway). */
export async function readSealedFile(file: string, key: SealingKey): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of createSealedReadStream(file, key)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Whether a file starts like a sealed file (says nothing of whether it is intact). */
export function isSealedFile(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Seals a clear file where it is (an original spooled by a gateway from before sealing): the sealed copy is
 * written beside it, synced, then renamed over it. Returns false if it was sealed already. The clear bytes'
 * old disk blocks are freed, not overwritten: only full-disk encryption reaches those.
 */
export async function sealFileInPlace(file: string, key: SealingKey): Promise<boolean> {
  if (isSealedFile(file)) return false;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.sealing`);
  await fs.promises.rm(temp, { force: true });
  const writer = createSealedWriteStream(temp, key);
  try {
    await new Promise<void>((resolve, reject) => {
      const input = fs.createReadStream(file, { highWaterMark: 1 << 20 });
      input.once('error', reject);
      writer.once('error', reject);
      writer.once('finish', resolve);
      input.pipe(writer);
    });
  } catch (error) {
    writer.destroy();
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  await fs.promises.rename(temp, file);
  await syncDirectory(path.dirname(file));
  return true;
}

/** Originals read and their temporary copies written sealed, for the parser (dicom's InstanceFiles). */
export function sealedFiles(key: SealingKey): InstanceFiles {
  return { open: (file) => openSealedInstance(file, key), createWriteStream: (file) => createSealedWriteStream(file, key) };
}
