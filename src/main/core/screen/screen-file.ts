import fs from 'node:fs';
import type { IdentifyingValues } from './classify';
import type { OcrReader } from './ocr';
import { loadCodecs, ScreeningUnavailable, type Box } from './raster';
import { RedactionUnsupported } from './redact';
import { redactedInstance, replaceFile } from './apply';
import { identifyingTextIn, screenInstance, type FoundText, type ScreeningOptions } from './screen';

/** One de-identified instance to screen before it may be uploaded. */
export interface ScreeningJob {
  /** The de-identified file (outbox): replaced by its redacted version when text is blacked out. */
  file: string;
  /** The instance's identifying values, read from the original before de-identification. */
  identifying: IdentifyingValues;
  options: ScreeningOptions;
  /** Black out these regions whatever OCR finds (a device rule, or boxes a technologist drew). */
  alwaysRedact?: Box[];
}

export type ScreeningOutcome =
  /** Nothing to change: the file is as de-identification wrote it, pixel data byte-identical. */
  | { result: 'clean'; found: FoundText[] }
  /** Text was blacked out and the output read again: nothing identifying is left. */
  | { result: 'redacted'; found: FoundText[]; redactions: Box[] }
  /** A person must decide (text that is not a marker under the hold policy, a redaction that could not be made or verified). */
  | { result: 'hold'; found: FoundText[]; redactions: Box[]; reason: string };

/**
 * Screens one file, redacts it when it must and can, and checks the redacted output by reading it again:
 * identifying text still readable there holds the instance.
 */
export async function screenFile(job: ScreeningJob, reader: OcrReader): Promise<ScreeningOutcome> {
  await loadCodecs();
  const bytes = await fs.promises.readFile(job.file);
  let screening;
  try {
    screening = await screenInstance(bytes, job.identifying, job.options, reader);
  } catch (error) {
    if (error instanceof ScreeningUnavailable) return { result: 'hold', found: [], redactions: [], reason: `The image could not be screened for burned-in text: ${error.message}` };
    throw error;
  }
  const redactions = [...(job.alwaysRedact ?? []), ...screening.redactions];
  if (screening.verdict === 'hold') return { result: 'hold', found: screening.found, redactions, reason: screening.reason ?? 'Burned-in text to check' };
  if (redactions.length === 0) return { result: 'clean', found: screening.found };
  let redacted: Buffer;
  try {
    redacted = redactedInstance(bytes, redactions);
  } catch (error) {
    if (error instanceof RedactionUnsupported) {
      const what = screening.found.some((f) => f.kind === 'identifying' && f.action === 'redact') ? 'Burned-in identifying text found' : 'Burned-in text found';
      return { result: 'hold', found: screening.found, redactions, reason: `${what}, but it cannot be blacked out here (${error.message}): check it before releasing it` };
    }
    throw error;
  }
  const left = await identifyingTextIn(redacted, job.identifying, job.options.maxFrames, reader);
  if (left.length > 0) {
    return { result: 'hold', found: [...screening.found, ...left], redactions, reason: 'Identifying text is still readable after redaction: check it before releasing it' };
  }
  await replaceFile(job.file, redacted);
  return { result: 'redacted', found: screening.found, redactions };
}
