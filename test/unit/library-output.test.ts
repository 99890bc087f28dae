import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import dcmjs from 'dcmjs';
import dimse from 'dcmjs-dimse';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, routeLibraryOutput } from '../../src/main/core/log';

const LONG_UID = `1.2.826.0.1.3680043.10.${'7'.repeat(70)}`;
const lines: string[] = [];
let printed: string[] = [];

/** Everything written to the process's stdout and stderr while `fn` runs (where a library's console output would go). */
function captureOutput(fn: () => void): string {
  printed = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (printed.push(String(chunk)), true));
  try {
    fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return printed.join('');
}

describe('library output goes through the redacting logger, never straight to the console', () => {
  beforeAll(() => {
    routeLibraryOutput(createLogger({ level: 'debug', sink: (line) => lines.push(line) }));
  });
  afterEach(() => {
    lines.length = 0;
  });

  it('dcmjs truncating an over-long UID: the log says which attribute, never the value', () => {
    const printedText = captureOutput(() => {
      const dict = dcmjs.data.DicomMetaDictionary as unknown as { denaturalizeDataset(d: Record<string, unknown>): Record<string, { Value: string[] }> };
      const written = dict.denaturalizeDataset({ SOPInstanceUID: LONG_UID });
      // The value was truncated (so the warning path ran) ...
      expect(written['00080018']!.Value[0]!.length).toBe(64);
    });
    // ... and neither the console nor the log line carries it.
    expect(printedText).not.toContain('7777777');
    expect(lines.join('\n')).not.toContain('7777777');
    expect(lines.some((l) => l.includes('a value was truncated') && l.includes('"attribute":"SOPInstanceUID"') && l.includes('"maxLength":"64"'))).toBe(true);
  });

  it('the dcmjs copy inside dcmjs-dimse is routed as well', () => {
    const nested = createRequire(createRequire(import.meta.url).resolve('dcmjs-dimse'))('dcmjs') as typeof dcmjs;
    const printedText = captureOutput(() => {
      (nested.data.DicomMetaDictionary as unknown as { denaturalizeDataset(d: Record<string, unknown>): unknown }).denaturalizeDataset({ SOPInstanceUID: LONG_UID });
    });
    expect(printedText).toBe('');
    expect(lines.join('\n')).not.toContain('7777777');
    expect(lines.some((l) => l.includes('a value was truncated'))).toBe(true);
  });

  it('dcmjs-dimse: its tracing is not even built, its warnings are withheld text', () => {
    const log = dimse.log as unknown as { info(m: string): void; warn(m: string): void };
    const printedText = captureOutput(() => {
      log.info(`association from DOE^JANE ${LONG_UID}`);
      log.warn(`could not do something with DOE^JANE`);
    });
    expect(printedText).toBe('');
    expect(lines.join('\n')).not.toMatch(/DOE|7777777/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DEBUG \[gateway\.library\] library message withheld .*"library":"dcmjs-dimse","level":"warn"/);
  });

  it('a direct console call from inside dcmjs is diverted; the project\'s own console calls are not', () => {
    // As dcmjs's reader does on a tag it cannot place ("Unknown tag info", length, tag): code whose file is dcmjs's build.
    const printedText = captureOutput(() => {
      vm.runInThisContext(`console.warn("Unknown tag info", 1234, "${LONG_UID}")`, { filename: path.resolve('node_modules/dcmjs/build/dcmjs.js') });
    });
    expect(printedText).toBe('');
    expect(lines.join('\n')).not.toContain('7777777');
    expect(lines.some((l) => l.includes('"library":"dcmjs","level":"warn"'))).toBe(true);
    // The test's own console call is not taken for a library's (vitest prints it; it is not diverted to the log).
    const before = lines.length;
    console.log('the project speaking');
    expect(lines.length).toBe(before);
  });
});
