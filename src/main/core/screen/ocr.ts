import path from 'node:path';
import { createRequire } from 'node:module';
import { createWorker, PSM, type Worker as TesseractWorker } from 'tesseract.js';
import { encodePng } from '../preview/png';
import { crop, type Box, type GrayImage } from './raster';

const require = createRequire(import.meta.url);

/**
 * Where tesseract.js finds its language data: inside node_modules. Without an explicit language path it downloads
 * the data from a CDN; with it, it never opens a connection (tested in a network namespace without any network).
 */
export function localOcrFiles(): { langPath: string } {
  // Under Node, tesseract.js loads its WebAssembly core and worker script with require(): only the language data
  // has a download fallback. The integer-quantised "best" model reads printed text as well as the full one.
  return { langPath: path.join(path.dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int') };
}

/** A word OCR read, with its place in the full image. */
export interface ReadWord {
  text: string;
  /** Words of one line of text share this number (unique within one read). */
  line: number;
  /** 0–100, as tesseract reports it. */
  confidence: number;
  box: Box;
}

/** Text is read best when glyphs are at least this many pixels high; smaller regions are enlarged first. */
const MIN_GLYPH_PIXELS = 28;

export interface OcrReader {
  /**
   * Reads the text of one region of the image; `darkOnLight` says the text is darker than its background.
   * The region is enlarged so its glyphs are about 28 pixels high, and `zoom` times more for a second look.
   */
  read(image: GrayImage, region: Box, darkOnLight: boolean, zoom?: number): Promise<ReadWord[]>;
  close(): Promise<void>;
}

export async function createOcrReader(): Promise<OcrReader> {
  const files = localOcrFiles();
  const worker: TesseractWorker = await createWorker('eng', 1, {
    ...files,
    gzip: true,
    // The language data is read from the package each time: no cache file is written anywhere.
    cacheMethod: 'none',
    logger: () => undefined,
    errorHandler: () => undefined,
  });
  await worker.setParameters({ tessedit_pageseg_mode: PSM.SINGLE_BLOCK, preserve_interword_spaces: '1' });
  return {
    async read(image, region, darkOnLight, zoom = 1) {
      const part = crop(image, region);
      if (part.width === 0 || part.height === 0) return [];
      const enlarge = Math.min(8, zoom * Math.max(1, Math.ceil(MIN_GLYPH_PIXELS / Math.max(1, part.height * 0.5))));
      const png = toPng(part, enlarge, !darkOnLight);
      const result = await worker.recognize(png, {}, { blocks: true, text: false });
      const words: ReadWord[] = [];
      let lineNumber = 0;
      for (const block of result.data.blocks ?? []) {
        for (const paragraph of block.paragraphs) {
          for (const line of paragraph.lines) {
            lineNumber += 1;
            for (const word of line.words) {
              const text = word.text.trim();
              if (!text) continue;
              const border = PNG_BORDER;
              words.push({
                text,
                line: lineNumber,
                confidence: word.confidence,
                box: {
                  x0: region.x0 + Math.floor((word.bbox.x0 - border) / enlarge),
                  y0: region.y0 + Math.floor((word.bbox.y0 - border) / enlarge),
                  x1: region.x0 + Math.ceil((word.bbox.x1 - border) / enlarge),
                  y1: region.y0 + Math.ceil((word.bbox.y1 - border) / enlarge),
                },
              });
            }
          }
        }
      }
      return words;
    },
    async close() {
      await worker.terminate();
    },
  };
}

/** White space around a region: tesseract misreads glyphs that touch the image edge. */
const PNG_BORDER = 12;

/** The region as a PNG with dark text on white (tesseract's training), enlarged by pixel repetition. */
function toPng(part: GrayImage, enlarge: number, invert: boolean): Buffer {
  const width = part.width * enlarge + 2 * PNG_BORDER;
  const height = part.height * enlarge + 2 * PNG_BORDER;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  for (let y = 0; y < part.height * enlarge; y += 1) {
    const sy = Math.floor(y / enlarge);
    for (let x = 0; x < part.width * enlarge; x += 1) {
      const v = part.pixels[sy * part.width + Math.floor(x / enlarge)]!;
      const out = ((y + PNG_BORDER) * width + x + PNG_BORDER) * 3;
      const shown = invert ? 255 - v : v;
      rgb[out] = shown;
      rgb[out + 1] = shown;
      rgb[out + 2] = shown;
    }
  }
  return encodePng(rgb, width, height);
}
