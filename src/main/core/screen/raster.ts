import path from 'node:path';
import { createRequire } from 'node:module';
import * as imagingModule from 'dcmjs-imaging';

// dcmjs-imaging is a UMD bundle: under Node's ESM loader its exports sit on `default`.
const imaging = ((imagingModule as unknown as { default?: typeof imagingModule }).default ?? imagingModule) as typeof imagingModule;

/** One frame as 8-bit luminance, dark where the display is dark (MONOCHROME1 already inverted). */
export interface GrayImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

export class ScreeningUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScreeningUnavailable';
  }
}

let codecs: Promise<void> | undefined;

/** Loads the WebAssembly codecs once (JPEG, JPEG-LS, JPEG 2000, RLE), from the package's own file: no network. */
export function loadCodecs(): Promise<void> {
  codecs ??= imaging.NativePixelDecoder.initializeAsync({
    webAssemblyModulePathOrUrl: path.join(path.dirname(createRequire(import.meta.url).resolve('dcmjs-imaging')), 'dcmjs-native-codecs.wasm'),
    logNativeDecodersMessages: false,
  });
  return codecs;
}

/** A decoded instance: its frames are rendered on demand, each with the window that spans its own values. */
export interface DecodedImage {
  width: number;
  height: number;
  frames: number;
  render(frame: number): GrayImage;
}

/** Opens a whole Part 10 file held in memory; the codecs must be loaded (loadCodecs). */
export function openImage(bytes: Uint8Array): DecodedImage {
  let image: InstanceType<typeof imaging.DicomImage>;
  try {
    // A file read on its own fills its whole buffer: no copy of 27 MB then.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    image = new imaging.DicomImage((whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) as ArrayBuffer);
  } catch (error) {
    throw new ScreeningUnavailable(`the image could not be read: ${(error as Error).message}`);
  }
  const bitsStored = Number(image.getElement('BitsStored') ?? 8);
  const signed = Number(image.getElement('PixelRepresentation') ?? 0) === 1;
  const slope = Number(image.getElement('RescaleSlope') ?? 1) || 1;
  const intercept = Number(image.getElement('RescaleIntercept') ?? 0) || 0;
  const rawLow = signed ? -(2 ** (bitsStored - 1)) : 0;
  const rawHigh = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  const [low, high] = [rawLow * slope + intercept, rawHigh * slope + intercept].sort((a, b) => a - b) as [number, number];
  const isColor = Number(image.getElement('SamplesPerPixel') ?? 1) > 1;

  const draw = (frame: number, windowLevel?: InstanceType<typeof imaging.WindowLevel>): GrayImage => {
    let rendered;
    try {
      rendered = image.render({ frame, renderOverlays: false, ...(windowLevel ? { windowLevel } : {}) });
    } catch (error) {
      throw new ScreeningUnavailable(`frame ${frame + 1} could not be decoded: ${(error as Error).message}`);
    }
    const rgba = new Uint8Array(rendered.pixels);
    const gray = new Uint8Array(rendered.width * rendered.height);
    for (let i = 0, j = 0; i < gray.length; i += 1, j += 4) gray[i] = (rgba[j]! * 77 + rgba[j + 1]! * 150 + rgba[j + 2]! * 29) >> 8;
    return { width: rendered.width, height: rendered.height, pixels: gray };
  };

  return {
    width: image.getWidth(),
    height: image.getHeight(),
    frames: image.getNumberOfFrames(),
    render(frame) {
      // Colour images are shown as they are; greyscale ones through a window over the whole stored range first, so
      // dim text that a tissue window would clip to black stays visible, then through the range the frame really
      // uses (a 12-bit image often uses a fifth of its 16-bit range), so faint strokes keep their contrast.
      if (isColor) return draw(frame);
      const full = draw(frame, new imaging.WindowLevel(high - low + 1, (high + low + 1) / 2));
      const [from, to] = occupiedRange(full.pixels);
      if (to - from >= 160) return full;
      const scale = (high - low + 1) / 256;
      const usedLow = low + from * scale;
      const usedHigh = low + (to + 1) * scale;
      return draw(frame, new imaging.WindowLevel(usedHigh - usedLow, (usedHigh + usedLow) / 2));
    },
  };
}

/** The darkest and brightest 8-bit values present (ignoring a few stray pixels). */
function occupiedRange(pixels: Uint8Array): [number, number] {
  const histogram = new Uint32Array(256);
  for (let i = 0; i < pixels.length; i += 1) histogram[pixels[i]!]! += 1;
  const ignore = Math.floor(pixels.length * 1e-6);
  let from = 0;
  for (let seen = 0; from < 255 && seen + histogram[from]! <= ignore; from += 1) seen += histogram[from]!;
  let to = 255;
  for (let seen = 0; to > from && seen + histogram[to]! <= ignore; to -= 1) seen += histogram[to]!;
  return [from, to];
}

/** Copies a rectangle out of an image (clipped to it). */
export function crop(image: GrayImage, box: Box): GrayImage {
  const x0 = Math.max(0, box.x0);
  const y0 = Math.max(0, box.y0);
  const x1 = Math.min(image.width, box.x1);
  const y1 = Math.min(image.height, box.y1);
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) pixels.set(image.pixels.subarray((y0 + y) * image.width + x0, (y0 + y) * image.width + x0 + width), y * width);
  return { width, height, pixels };
}

/** A rectangle in pixel coordinates, x1 and y1 exclusive. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
