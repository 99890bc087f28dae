import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { DicomParseError, DicomReaderDefect, openInstanceFile, parseInstanceBuffer, type ParseLimits } from '../../src/main/core/dicom';
import { readIdentity } from '../../src/main/core/deid';
import { DEFLATED_LE, EXPLICIT_LE, ITEM_END, ITEM_UNDEFINED, SEQUENCE_END, element, fileMeta, header } from '../fixtures/memory-bombs';

/**
 * A seeded mutation fuzzer of the DICOM reader: each execution takes a corpus file, applies a few mutations chosen
 * by a seeded generator (so any finding is replayed from its seed and execution number), and reads the result.
 * The reader may return, or throw a DicomParseError (its own, typed); anything else, or a DicomReaderDefect (an
 * exception of the reader itself that it caught), is a finding. Small limits keep every execution bounded.
 */

export interface FuzzFinding {
  execution: number;
  corpusFile: string;
  error: string;
  /** The mutated input, for a reproduction. */
  input: Buffer;
}

export interface FuzzReport {
  seed: number;
  executions: number;
  accepted: number;
  refused: number;
  findings: FuzzFinding[];
}

/** Limits small enough that no mutated input can cost much, large enough for every corpus file to be read whole. */
export const FUZZ_LIMITS: ParseLimits = { maxInflatedBytes: 8 * 1024 ** 2, maxElementsPerInstance: 50_000, maxInMemoryValueBytes: 16 * 1024 ** 2 };

/** mulberry32: a small, well-mixed 32-bit generator; the seed alone fixes the whole run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** pydicom's test files (Debian python3-pydicom) up to 1 MB, and generated instances that reach the rarer paths. */
export function fuzzCorpus(): Array<{ name: string; bytes: Buffer }> {
  const corpus: Array<{ name: string; bytes: Buffer }> = [];
  let listed: string[] = [];
  try {
    listed = execFileSync('dpkg', ['-L', 'python3-pydicom'], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.dcm'));
  } catch {
    // not a Debian system: the generated instances alone
  }
  for (const file of listed.sort()) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat?.isFile() && stat.size <= 1024 ** 2) corpus.push({ name: path.basename(file), bytes: fs.readFileSync(file) });
  }
  const uid = '1.2.826.0.1.3680043.10.543.5';
  const identity = Buffer.concat([element(0x0008, 0x0016, 'UI', '1.2.840.10008.5.1.4.1.1.1.2'), element(0x0008, 0x0018, 'UI', uid)]);
  const rest = Buffer.concat([element(0x0020, 0x000d, 'UI', `${uid}.1`), element(0x0020, 0x000e, 'UI', `${uid}.2`)]);
  const nested = Buffer.concat([
    header(0x0008, 0x1140, 'SQ', 0xffffffff), ITEM_UNDEFINED, element(0x0008, 0x1150, 'UI', '1.2.3'),
    header(0x0040, 0xa730, 'SQ', 0xffffffff), ITEM_UNDEFINED, element(0x0040, 0xa160, 'UT', 'text'), ITEM_END, SEQUENCE_END,
    ITEM_END, SEQUENCE_END,
  ]);
  const privateUn = Buffer.concat([element(0x0009, 0x0010, 'LO', 'VENDOR'), header(0x0009, 0x1001, 'UN', 0xffffffff), ITEM_UNDEFINED, Buffer.from([0x10, 0, 0x10, 0, 2, 0, 0, 0, 0x41, 0x42]), ITEM_END, SEQUENCE_END]);
  const fragments = Buffer.concat([header(0x7fe0, 0x0010, 'OB', 0xffffffff), Buffer.from([0xfe, 0xff, 0, 0xe0, 0, 0, 0, 0]), Buffer.from([0xfe, 0xff, 0, 0xe0, 4, 0, 0, 0, 1, 2, 3, 4]), SEQUENCE_END]);
  const plain = Buffer.concat([identity, nested, privateUn, rest]);
  corpus.push({ name: 'generated-sequences.dcm', bytes: Buffer.concat([fileMeta(uid, EXPLICIT_LE), plain]) });
  corpus.push({ name: 'generated-deflated.dcm', bytes: Buffer.concat([fileMeta(uid, DEFLATED_LE), zlib.deflateRawSync(plain)]) });
  corpus.push({ name: 'generated-encapsulated.dcm', bytes: Buffer.concat([fileMeta(uid, '1.2.840.10008.1.2.4.50'), identity, rest, fragments]) });
  corpus.push({ name: 'generated-bare.dcm', bytes: plain });
  return corpus;
}

const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const TOKENS = [Buffer.from([0xfe, 0xff, 0x00, 0xe0]), Buffer.from([0xfe, 0xff, 0x0d, 0xe0]), Buffer.from([0xfe, 0xff, 0xdd, 0xe0]), Buffer.from('SQ'), Buffer.from('UN'), Buffer.from('OB'), Buffer.from('DICM'), Buffer.from([0xe0, 0x7f, 0x10, 0x00])];

/** One to four mutations: bit flips, interesting bytes and lengths, DICOM tokens, truncation, chunks cut, copied or spliced. */
export function mutate(input: Buffer, random: () => number, other: Buffer): Buffer {
  let out = Buffer.from(input);
  const pick = (n: number): number => Math.floor(random() * n);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    const at = pick(out.length);
    switch (pick(8)) {
      case 0:
        out[at] = out[at]! ^ (1 << pick(8));
        break;
      case 1:
        out[at] = [0, 0xff, 0x7f, 0x80, 0x01][pick(5)]!;
        break;
      case 2:
        if (at + 4 <= out.length) out.writeUInt32LE(INTERESTING_32[pick(INTERESTING_32.length)]!, at);
        break;
      case 3:
        if (at + 2 <= out.length) out.writeUInt16LE(INTERESTING_32[pick(INTERESTING_32.length)]! & 0xffff, at);
        break;
      case 4: {
        const token = TOKENS[pick(TOKENS.length)]!;
        token.copy(out, at);
        break;
      }
      case 5:
        out = out.subarray(0, at);
        break;
      case 6: {
        const length = 1 + pick(Math.min(256, out.length - at));
        out = pick(2) === 0 ? Buffer.concat([out.subarray(0, at), out.subarray(at + length)]) : Buffer.concat([out.subarray(0, at), out.subarray(at, at + length), out.subarray(at)]);
        break;
      }
      default: {
        const from = pick(other.length);
        out = Buffer.concat([out.subarray(0, at), other.subarray(from, from + 1 + pick(512))]);
      }
    }
  }
  return out;
}

const isTyped = (error: unknown): boolean => error instanceof DicomParseError && !(error instanceof DicomReaderDefect);
const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (cause ${error.cause.stack?.split('\n').slice(0, 3).join(' ')})` : ''}` : String(error));

/**
 * Runs `executions` mutated reads from `seed`. Every `asyncEvery`-th goes through openInstanceFile (a file, the
 * streamed inflate, the sliced parse); the rest through parseInstanceBuffer. An accepted instance is also handed to
 * readIdentity, whose only permitted refusal is its own MissingAttributeError.
 */
export async function fuzzParser(seed: number, executions: number, options: { asyncEvery?: number; onProgress?: (done: number) => void } = {}): Promise<FuzzReport> {
  const random = rng(seed);
  const corpus = fuzzCorpus();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-parser-'));
  const report: FuzzReport = { seed, executions: 0, accepted: 0, refused: 0, findings: [] };
  const asyncEvery = options.asyncEvery ?? 25;
  try {
    for (let i = 0; i < executions; i++) {
      const base = corpus[Math.floor(random() * corpus.length)]!;
      const other = corpus[Math.floor(random() * corpus.length)]!.bytes;
      const input = mutate(base.bytes, random, other);
      try {
        let parsed;
        if (i % asyncEvery === 0) {
          const file = path.join(scratch, 'input.dcm');
          fs.writeFileSync(file, input);
          parsed = await openInstanceFile(file, FUZZ_LIMITS);
        } else {
          parsed = parseInstanceBuffer(input, FUZZ_LIMITS);
        }
        try {
          readIdentity(parsed);
        } catch (error) {
          if (!(error instanceof Error && error.name === 'MissingAttributeError')) throw error;
        } finally {
          parsed.close();
        }
        report.accepted += 1;
      } catch (error) {
        if (isTyped(error)) report.refused += 1;
        else report.findings.push({ execution: i, corpusFile: base.name, error: describe(error), input });
      }
      report.executions += 1;
      if (options.onProgress && i % 1000 === 0) options.onProgress(i);
    }
    // Nothing the reader made may be left behind (an inflated scratch file of a refused input, say).
    const left = fs.readdirSync(scratch).filter((f) => f !== 'input.dcm');
    if (left.length) report.findings.push({ execution: -1, corpusFile: '', error: `scratch files left behind: ${left.join(', ')}`, input: Buffer.alloc(0) });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return report;
}
