import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as imagingModule from 'dcmjs-imaging';
import { encodePng } from './png';

// dcmjs-imaging is a UMD bundle: under Node's ESM loader its exports sit on `default`.
const imaging = ((imagingModule as unknown as { default?: typeof imagingModule }).default ?? imagingModule) as typeof imagingModule;

/** Larger files are not decoded for a thumbnail: the whole file would sit in memory. */
export const MAX_PREVIEW_BYTES = 256 * 1024 * 1024;

let codecs: Promise<boolean> | undefined;

/** Loads the WebAssembly codecs once, for JPEG, JPEG-LS, JPEG 2000 and RLE images; uncompressed ones need none. */
function nativeCodecs(): Promise<boolean> {
  codecs ??= (async () => {
    try {
      const wasm = path.join(path.dirname(createRequire(import.meta.url).resolve('dcmjs-imaging')), 'dcmjs-native-codecs.wasm');
      await imaging.NativePixelDecoder.initializeAsync({ webAssemblyModulePathOrUrl: wasm, logNativeDecodersMessages: false });
      return true;
    } catch {
      return false;
    }
  })();
  return codecs;
}

export interface Thumbnail {
  png: Buffer;
  width: number;
  height: number;
}

export class PreviewUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreviewUnavailable';
  }
}

/**
 * Renders the first frame of a DICOM file (read by `read`: an original kept here is sealed) (with its own window, or one from the pixel values) and scales it
 * to fit `maxSize`, averaging the pixels each thumbnail pixel covers so thin burned-in text stays visible.
 */
export async function renderThumbnail(file: string, maxSize: number, read: (file: string) => Promise<Buffer> = (f) => fs.promises.readFile(f)): Promise<Thumbnail> {
  const size = (await fs.promises.stat(file)).size;
  if (size > MAX_PREVIEW_BYTES) throw new PreviewUnavailable(`The image is too large to preview here (${Math.round(size / 1e6)} MB)`);
  await nativeCodecs();
  let bytes: Buffer;
  try {
    bytes = await read(file);
  } catch (error) {
    throw new PreviewUnavailable(`The image could not be read: ${(error as Error).message}`);
  }
  let rendered: { width: number; height: number; pixels: ArrayBuffer };
  try {
    const image = new imaging.DicomImage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    rendered = image.render({ frame: 0 });
  } catch (error) {
    throw new PreviewUnavailable(`The image could not be rendered: ${(error as Error).message}`);
  }
  const { width, height } = rendered;
  const rgba = new Uint8Array(rendered.pixels);
  const scale = Math.min(1, maxSize / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y += 1) {
    const y0 = Math.floor((y * height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / h));
    for (let x = 0; x < w; x += 1) {
      const x0 = Math.floor((x * width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy += 1) {
        for (let sx = x0; sx < x1; sx += 1) {
          const at = (sy * width + sx) * 4;
          r += rgba[at]!;
          g += rgba[at + 1]!;
          b += rgba[at + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const out = (y * w + x) * 3;
      rgb[out] = r / n;
      rgb[out + 1] = g / n;
      rgb[out + 2] = b / n;
    }
  }
  return { png: encodePng(rgb, w, h), width: w, height: h };
}
