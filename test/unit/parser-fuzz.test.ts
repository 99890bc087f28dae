import { describe, expect, it } from 'vitest';
import { fuzzCorpus, fuzzParser, mutate, rng } from '../support/parser-fuzz';

// Fixed by default so CI runs the same inputs every time; FUZZ_SEED=… explores others (bench/fuzz-parser.ts runs longer).
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const EXECUTIONS = 20_000;

describe('fuzz: the DICOM reader only ever refuses mutated input with its own typed errors', () => {
  it(`reads ${EXECUTIONS} mutations of pydicom's test files and generated instances (seed ${SEED}) without a crash, a hang or a stray error`, async () => {
    const report = await fuzzParser(SEED, EXECUTIONS);
    console.log(`parser fuzz: seed ${report.seed}, ${report.executions} executions, ${report.accepted} read, ${report.refused} refused with DicomParseError, ${report.findings.length} findings`);
    const shown = report.findings.slice(0, 5).map((f) => `execution ${f.execution} (${f.corpusFile}): ${f.error}`);
    expect(shown, `replay with FUZZ_SEED=${SEED}`).toEqual([]);
    expect(report.executions).toBe(EXECUTIONS);
    // Both outcomes are reached, so the mutations neither leave every input intact nor break every one at its first byte.
    expect(report.accepted).toBeGreaterThan(EXECUTIONS / 20);
    expect(report.refused).toBeGreaterThan(EXECUTIONS / 20);
  }, 120_000);

  it('replays exactly from its seed, so a finding can be reproduced', () => {
    const corpus = fuzzCorpus();
    expect(corpus.length).toBeGreaterThan(50);
    const run = (): string[] => {
      const random = rng(42);
      return [0, 1, 2, 3].map((i) => mutate(corpus[i]!.bytes, random, corpus[i + 1]!.bytes).toString('base64'));
    };
    expect(run()).toEqual(run());
  });
});
