import { findTextCandidates } from './triage';
import { classifyLine, prepareValues, type IdentifyingValues, type TextKind } from './classify';
import { openImage, type Box, type GrayImage } from './raster';
import type { OcrReader, ReadWord } from './ocr';

/** What to do with readable text that is neither identifying nor a known marker. */
export type OtherTextPolicy = 'redact' | 'hold' | 'keep';

export interface ScreeningOptions {
  otherText: OtherTextPolicy;
  /**
   * Multi-frame objects (tomosynthesis) with more frames than this are screened on this many frames spread evenly
   * from the first to the last; burned-in text sits at the same place on every frame, and whatever is found on one
   * is blacked out on all.
   */
  maxFrames: number;
}

export const DEFAULT_SCREENING: ScreeningOptions = { otherText: 'redact', maxFrames: 16 };

export interface FoundText {
  frame: number;
  /** The line's region, as triage found it. */
  box: Box;
  /** What OCR read there; stays on this computer (it may be a patient's name). */
  text: string;
  kind: TextKind;
  why?: string;
  action: 'redact' | 'keep' | 'hold';
}

export interface Screening {
  framesScreened: number[];
  found: FoundText[];
  /** Regions to black out on every frame, with their margin. */
  redactions: Box[];
  /** clean: nothing to change; redact: black out `redactions`; hold: a person decides. */
  verdict: 'clean' | 'redact' | 'hold';
  reason?: string;
}

/** The frames to screen: all of them, or `max` spread evenly from the first to the last. */
export function framesToScreen(frames: number, max: number): number[] {
  if (frames <= max) return Array.from({ length: frames }, (_, i) => i);
  const picked = new Set<number>();
  for (let i = 0; i < max; i += 1) picked.add(Math.round((i * (frames - 1)) / (max - 1)));
  return [...picked].sort((a, b) => a - b);
}

/** Margin around a redacted line: a glyph's ascender or a stroke at the region's edge is covered too. */
function withMargin(box: Box, image: { width: number; height: number }): Box {
  const m = Math.ceil((box.y1 - box.y0) * 0.25) + 4;
  return { x0: Math.max(0, box.x0 - m), y0: Math.max(0, box.y0 - m), x1: Math.min(image.width, box.x1 + m), y1: Math.min(image.height, box.y1 + m) };
}

function linesOf(words: ReadWord[]): ReadWord[][] {
  const lines = new Map<number, ReadWord[]>();
  for (const w of words) lines.set(w.line, [...(lines.get(w.line) ?? []), w]);
  return [...lines.values()];
}

/** Reads every candidate region of one frame and sorts what it says. */
async function screenFrame(gray: GrayImage, frame: number, values: ReturnType<typeof prepareValues>, options: ScreeningOptions, reader: OcrReader): Promise<FoundText[]> {
  const triage = findTextCandidates(gray);
  const found: FoundText[] = [];
  for (const region of triage.candidates) {
    // OCR's reading of a line changes with its scale: a line read once without anything identifying in it is read
    // again at twice the size, and identifying text found by either reading counts.
    const first = linesOf(await reader.read(gray, region, triage.brightBackground)).map((line) => ({ line, ...classifyLine(line, values) }));
    const readings = first.some((l) => l.kind === 'identifying')
      ? first
      : [...first, ...linesOf(await reader.read(gray, region, triage.brightBackground, 2)).map((line) => ({ line, ...classifyLine(line, values) }))];
    const pick = readings.find((l) => l.kind === 'identifying') ?? readings.find((l) => l.kind === 'harmless') ?? readings.find((l) => l.kind === 'other');
    if (!pick) continue;
    const action = pick.kind === 'identifying' ? 'redact' : pick.kind === 'harmless' ? 'keep' : options.otherText;
    found.push({ frame, box: { x0: region.x0, y0: region.y0, x1: region.x1, y1: region.y1 }, text: pick.line.map((w) => w.text).join(' '), kind: pick.kind, ...(pick.why ? { why: pick.why } : {}), action });
  }
  return found;
}

/**
 * Screens the pixels of one instance (a whole Part 10 file in memory) for burned-in text: finds it, reads it,
 * decides per line. The codecs must be loaded (loadCodecs).
 */
export async function screenInstance(bytes: Uint8Array, identifying: IdentifyingValues, options: ScreeningOptions, reader: OcrReader): Promise<Screening> {
  const image = openImage(bytes);
  const values = prepareValues(identifying);
  const frames = framesToScreen(image.frames, options.maxFrames);
  const found: FoundText[] = [];
  for (const frame of frames) found.push(...(await screenFrame(image.render(frame), frame, values, options, reader)));
  const redactions = mergeBoxes(found.filter((f) => f.action === 'redact').map((f) => withMargin(f.box, image)));
  const held = found.find((f) => f.action === 'hold');
  if (held) return { framesScreened: frames, found, redactions, verdict: 'hold', reason: 'Burned-in text that is not a known marker: check it before releasing it' };
  return { framesScreened: frames, found, redactions, verdict: redactions.length > 0 ? 'redact' : 'clean' };
}

/** Identifying text still readable in an image (run on a redacted output before it may leave). */
export async function identifyingTextIn(bytes: Uint8Array, identifying: IdentifyingValues, maxFrames: number, reader: OcrReader): Promise<FoundText[]> {
  const result = await screenInstance(bytes, identifying, { otherText: 'keep', maxFrames }, reader);
  return result.found.filter((f) => f.kind === 'identifying');
}

/** Joins overlapping boxes (the same line found on several frames), so each region is listed once. */
export function mergeBoxes(boxes: Box[]): Box[] {
  const merged: Box[] = [];
  for (const box of boxes) {
    let current = { ...box };
    // A box that grew may now touch one it was already compared with: compare again until nothing joins.
    for (let joined = true; joined; ) {
      joined = false;
      for (let i = merged.length - 1; i >= 0; i -= 1) {
        const other = merged[i]!;
        if (current.x0 < other.x1 && other.x0 < current.x1 && current.y0 < other.y1 && other.y0 < current.y1) {
          current = { x0: Math.min(current.x0, other.x0), y0: Math.min(current.y0, other.y0), x1: Math.max(current.x1, other.x1), y1: Math.max(current.y1, other.y1) };
          merged.splice(i, 1);
          joined = true;
        }
      }
    }
    merged.push(current);
  }
  return merged;
}
