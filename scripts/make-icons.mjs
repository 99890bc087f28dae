// Draws the app icon and the tray icons (one colour per tray state) as PNG files in resources/.
// Run after changing a colour: node scripts/make-icons.mjs. The files are committed; electron-builder makes
// the .ico and .icns from resources/icon.png.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const [r, g, b, a] = pixel((x + 0.5) / size, (y + 0.5) / size);
      raw.set([r, g, b, a], y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
// Smooth edges: coverage of a shape from its signed distance (in units of the icon's size).
const cover = (d, size) => Math.max(0, Math.min(1, 0.5 - d * size));

/** A filled disc in the state's colour with a white ring: the "lens" of the gateway. */
function trayIcon(colour, size) {
  const [r, g, b] = hex(colour);
  return png(size, (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5);
    const disc = cover(d - 0.46, size);
    const ring = cover(Math.abs(d - 0.24) - 0.06, size);
    const a = disc;
    const w = ring * disc;
    return [r + (255 - r) * w, g + (255 - g) * w, b + (255 - b) * w, 255 * a].map(Math.round);
  });
}

/** The app icon: a rounded square with the same lens. */
function appIcon(size) {
  const [r, g, b] = hex('#0f6e78');
  return png(size, (x, y) => {
    const qx = Math.max(Math.abs(x - 0.5) - 0.3, 0);
    const qy = Math.max(Math.abs(y - 0.5) - 0.3, 0);
    const square = cover(Math.hypot(qx, qy) - 0.16, size);
    const d = Math.hypot(x - 0.5, y - 0.5);
    const ring = cover(Math.abs(d - 0.22) - 0.05, size) + cover(d - 0.07, size);
    const w = Math.min(1, ring);
    return [r + (255 - r) * w, g + (255 - g) * w, b + (255 - b) * w, 255 * square].map(Math.round);
  });
}

// The tray states of src/main/electron/tray-state.ts.
const TRAY_COLOURS = { idle: '#4b8b3b', receiving: '#2f6fd0', backlog: '#d99a1e', error: '#c8322c' };

fs.writeFileSync(path.join(root, 'resources/icon.png'), appIcon(512));
for (const [state, colour] of Object.entries(TRAY_COLOURS)) {
  fs.writeFileSync(path.join(root, `resources/tray/${state}.png`), trayIcon(colour, 16));
  fs.writeFileSync(path.join(root, `resources/tray/${state}@2x.png`), trayIcon(colour, 32));
}
console.log('wrote resources/icon.png and resources/tray/*.png');
