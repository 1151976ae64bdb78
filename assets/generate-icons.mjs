#!/usr/bin/env node
// Writes the tray icons (per state, @1x/@2x, macOS *Template.png) and the app icon as PNGs, with no
// dependencies: shapes are signed-distance functions, anti-aliased by 4x4 supersampling, encoded with zlib.
// Run: node assets/generate-icons.mjs
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** RGBA pixels (Float 0..1 per channel) → PNG bytes. */
function png(size, rgba) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size * 4; x++) raw[y * (size * 4 + 1) + 1 + x] = Math.round(Math.min(1, Math.max(0, rgba[y * size * 4 + x])) * 255);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Shapes in a unit square (0..1); each returns true when the point is inside.
const circle = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, r, w) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) <= w / 2;
const rect = (x0, y0, x1, y1) => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const roundRect = (x0, y0, x1, y1, r) => (x, y) => {
  const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
  const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
  return x >= x0 && x <= x1 && y >= y0 && y <= y1 && dx * dx + dy * dy <= r * r;
};
const arc = (cx, cy, r, w, from, to) => (x, y) => {
  const a = (Math.atan2(y - cy, x - cx) + 2 * Math.PI) % (2 * Math.PI);
  return ring(cx, cy, r, w)(x, y) && a >= from && a <= to;
};
const tri = (ax, ay, bx, by, cx, cy) => (x, y) => {
  const s = (px, py, qx, qy) => (x - qx) * (py - qy) - (px - qx) * (y - qy);
  const d1 = s(ax, ay, bx, by),
    d2 = s(bx, by, cx, cy),
    d3 = s(cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
};

/** Paints layers [{shape, color:[r,g,b], erase?}] into an RGBA buffer. */
function render(size, layers) {
  const out = new Float64Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          let c = null;
          for (const l of layers) if (l.shape(x, y)) c = l.erase ? null : l.color;
          if (c) {
            r += c[0];
            g += c[1];
            b += c[2];
            a += 1;
          }
        }
      }
      const i = (py * size + px) * 4;
      const cov = a / (n * n);
      out[i] = a ? r / a : 0;
      out[i + 1] = a ? g / a : 0;
      out[i + 2] = a ? b / a : 0;
      out[i + 3] = cov;
    }
  }
  return out;
}

const hex = (h) => [parseInt(h.slice(1, 3), 16) / 255, parseInt(h.slice(3, 5), 16) / 255, parseInt(h.slice(5, 7), 16) / 255];
const WHITE = [1, 1, 1];
const BLACK = [0, 0, 0];

/** The glyph per state, drawn over (or cut out of) the disk. */
const GLYPHS = {
  idle: [
    tri(0.28, 0.52, 0.36, 0.44, 0.47, 0.6),
    tri(0.47, 0.6, 0.36, 0.44, 0.44, 0.69),
    tri(0.44, 0.69, 0.47, 0.6, 0.74, 0.36),
    tri(0.74, 0.36, 0.47, 0.6, 0.68, 0.3),
  ],
  running: [arc(0.5, 0.5, 0.22, 0.09, 0, 1.5 * Math.PI), tri(0.5, 0.18, 0.5, 0.38, 0.64, 0.28)],
  paused: [rect(0.37, 0.3, 0.45, 0.7), rect(0.55, 0.3, 0.63, 0.7)],
  error: [rect(0.455, 0.25, 0.545, 0.58), circle(0.5, 0.7, 0.055)],
  offline: [rect(0.28, 0.455, 0.72, 0.545)],
  'needs-setup': [circle(0.34, 0.5, 0.055), circle(0.5, 0.5, 0.055), circle(0.66, 0.5, 0.055)],
};
const COLORS = { idle: '#1e8a4c', running: '#2f6fdf', paused: '#7d8696', error: '#c0392b', offline: '#b26a00', 'needs-setup': '#b26a00' };

mkdirSync(join(here, 'tray'), { recursive: true });
for (const [state, glyph] of Object.entries(GLYPHS)) {
  const disk = circle(0.5, 0.5, 0.46);
  for (const [suffix, size] of [
    ['', 16],
    ['@2x', 32],
  ]) {
    // Colour icons (Windows, Linux): a coloured disk with a white glyph.
    const colour = render(size, [{ shape: disk, color: hex(COLORS[state]) }, ...glyph.map((s) => ({ shape: s, color: WHITE }))]);
    writeFileSync(join(here, 'tray', `tray-${state}${suffix}.png`), png(size, colour));
    // macOS template images: black with alpha, the glyph cut out; the menu bar tints them.
    const template = render(size, [{ shape: disk, color: BLACK }, ...glyph.map((s) => ({ shape: s, erase: true }))]);
    writeFileSync(join(here, 'tray', `tray-${state}Template${suffix}.png`), png(size, template));
  }
}

// App icon: a blue rounded square, a white vault ring with a check.
const app = (size) =>
  png(
    size,
    render(size, [
      { shape: roundRect(0.06, 0.06, 0.94, 0.94, 0.2), color: hex('#2f6fdf') },
      { shape: ring(0.5, 0.5, 0.27, 0.07), color: WHITE },
      ...GLYPHS.idle.map((s) => ({ shape: (x, y) => s(0.5 + (x - 0.5) * 1.6, 0.5 + (y - 0.5) * 1.6), color: WHITE })),
    ]),
  );
writeFileSync(join(here, 'icon.png'), app(512));
writeFileSync(join(here, 'icon-256.png'), app(256));
console.log('icons written to', here);
