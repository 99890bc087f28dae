import type { Box, GrayImage } from './raster';

/**
 * Cheap search for places that may hold text, so that OCR reads a few small regions instead of a 13-megapixel
 * mammogram. Burned-in text on a mammogram sits in the air beside the breast: bright, thin strokes in small clusters
 * on a dark, flat background. The image is shrunk (keeping each block's brightest pixel, so strokes one pixel wide
 * survive), the background's level and noise are read from its border, everything clearly above it is marked, and
 * the marked blobs are sorted: the breast (one large blob) is dropped, glyph-sized blobs are joined into lines.
 * Text written over tissue is not found here (documented limit); device rules cover fixed positions.
 */

/** The long side of the shrunk image: text 8 px high in a 4096-px mammogram is still 2 px there. */
const WORKING_SIZE = 1024;
/** A blob covering more than this share of the image is anatomy (or a collimator edge), not a glyph. */
const MAX_GLYPH_SHARE = 0.01;
/** Regions OCR is asked to read, at most; the largest text-like ones first. */
const MAX_REGIONS = 48;

export interface Candidate extends Box {
  /** How many glyph-like blobs the region joins. */
  glyphs: number;
}

export interface Triage {
  candidates: Candidate[];
  /** The display level of the background (0–255): text is brighter than it where it is dark. */
  background: number;
  /** Whether the background is bright (text would then be darker than it). */
  brightBackground: boolean;
}

export function findTextCandidates(image: GrayImage): Triage {
  const scale = Math.max(1, Math.ceil(Math.max(image.width, image.height) / WORKING_SIZE));
  const { background, noise, bright } = borderStatistics(image);
  // Dark text on a bright background is searched for the same way, on the inverted image.
  const small = shrink(image, scale, bright);
  const level = bright ? 255 - background : background;
  const threshold = Math.min(250, level + Math.max(10, 5 * noise));
  const mask = new Uint8Array(small.width * small.height);
  for (let i = 0; i < mask.length; i += 1) mask[i] = small.pixels[i]! > threshold ? 1 : 0;

  const blobs = components(mask, small.width, small.height);
  const maxArea = MAX_GLYPH_SHARE * small.width * small.height;
  const glyphs = blobs.filter((b) => {
    const w = b.x1 - b.x0;
    const h = b.y1 - b.y0;
    return w * h <= maxArea && h * scale >= 5 && h <= small.height / 6 && w <= small.width / 2;
  });
  if (glyphs.length === 0) return { candidates: [], background, brightBackground: bright };

  // Join glyphs into lines: mark only the glyph blobs, smear them sideways by about one glyph height, and take the
  // blobs of that mask. Letters and words on a line merge; lines stay apart.
  const heights = glyphs.map((g) => g.y1 - g.y0).sort((a, b) => a - b);
  const typical = heights[Math.floor(heights.length / 2)]!;
  const glyphMask = new Uint8Array(mask.length);
  for (const g of glyphs) for (const i of g.pixels) glyphMask[i] = 1;
  const smeared = smearSideways(glyphMask, small.width, small.height, Math.max(2, Math.round(typical * 0.9)));
  const lines = components(smeared, small.width, small.height);

  const candidates: Candidate[] = [];
  for (const line of lines) {
    const inside = glyphs.filter((g) => g.x0 >= line.x0 && g.x1 <= line.x1 && g.y0 >= line.y0 && g.y1 <= line.y1);
    if (inside.length === 0) continue;
    const h = line.y1 - line.y0;
    const pad = Math.ceil(h * 0.35) + 1;
    candidates.push({
      x0: Math.max(0, (line.x0 - pad) * scale),
      y0: Math.max(0, (line.y0 - pad) * scale),
      x1: Math.min(image.width, (line.x1 + pad) * scale),
      y1: Math.min(image.height, (line.y1 + pad) * scale),
      glyphs: inside.length,
    });
  }
  candidates.sort((a, b) => b.glyphs - a.glyphs || (b.x1 - b.x0) * (b.y1 - b.y0) - (a.x1 - a.x0) * (a.y1 - a.y0));
  return { candidates: candidates.slice(0, MAX_REGIONS), background, brightBackground: bright };
}

/** The level and spread of the outermost 2 % of the image on every side, where a mammogram shows air. */
function borderStatistics(image: GrayImage): { background: number; noise: number; bright: boolean } {
  const { width, height, pixels } = image;
  const band = Math.max(1, Math.round(Math.min(width, height) * 0.02));
  const histogram = new Uint32Array(256);
  let n = 0;
  const step = Math.max(1, Math.floor(Math.max(width, height) / 2048));
  for (let y = 0; y < height; y += step) {
    const edgeRow = y < band || y >= height - band;
    for (let x = 0; x < width; x += edgeRow ? step : 1) {
      if (!edgeRow && x >= band && x < width - band) x = width - band;
      histogram[pixels[y * width + x]!]! += 1;
      n += 1;
    }
  }
  // The border is mostly air, but the breast touches one side: the median and the spread below it describe the air.
  const quantile = (q: number): number => {
    let seen = 0;
    for (let v = 0; v < 256; v += 1) {
      seen += histogram[v]!;
      if (seen >= q * n) return v;
    }
    return 255;
  };
  const median = quantile(0.5);
  const bright = median > 127;
  const spread = bright ? median - quantile(0.16) : Math.max(quantile(0.3), 0) - quantile(0.02);
  return { background: median, noise: Math.max(1, spread), bright };
}

/** Shrinks by `scale`, keeping each block's brightest pixel (darkest, inverted, when the background is bright). */
function shrink(image: GrayImage, scale: number, invert: boolean): GrayImage {
  const width = Math.ceil(image.width / scale);
  const height = Math.ceil(image.height / scale);
  const pixels = new Uint8Array(width * height);
  const src = image.pixels;
  for (let y = 0; y < image.height; y += 1) {
    const row = y * image.width;
    const out = Math.floor(y / scale) * width;
    for (let x = 0; x < image.width; x += 1) {
      const v = invert ? 255 - src[row + x]! : src[row + x]!;
      const at = out + Math.floor(x / scale);
      if (v > pixels[at]!) pixels[at] = v;
    }
  }
  return { width, height, pixels };
}

/** Widens every marked run of each row by `radius` on both sides. */
function smearSideways(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    let lastMarked = -Infinity;
    for (let x = 0; x < width; x += 1) if (mask[row + x]) {
      const from = Math.max(0, Math.max(x - radius, lastMarked + 1));
      for (let i = from; i <= Math.min(width - 1, x + radius); i += 1) out[row + i] = 1;
      lastMarked = Math.min(width - 1, x + radius);
    }
  }
  return out;
}

interface Blob extends Box {
  pixels: number[];
}

/** 8-connected blobs of a binary mask, with their bounding boxes (x1, y1 exclusive) and pixel indices. */
function components(mask: Uint8Array, width: number, height: number): Blob[] {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const blobs: Blob[] = [];
  for (let start = 0; start < mask.length; start += 1) {
    if (!mask[start] || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    const blob: Blob = { x0: width, y0: height, x1: 0, y1: 0, pixels: [] };
    while (top > 0) {
      const at = stack[--top]!;
      blob.pixels.push(at);
      const x = at % width;
      const y = (at - x) / width;
      if (x < blob.x0) blob.x0 = x;
      if (y < blob.y0) blob.y0 = y;
      if (x + 1 > blob.x1) blob.x1 = x + 1;
      if (y + 1 > blob.y1) blob.y1 = y + 1;
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const next = ny * width + nx;
          if (mask[next] && !seen[next]) {
            seen[next] = 1;
            stack[top++] = next;
          }
        }
      }
    }
    blobs.push(blob);
  }
  return blobs;
}
