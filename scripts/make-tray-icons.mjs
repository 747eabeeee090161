// Draws the tray icons into resources/tray/ (or --out DIR) with nothing but zlib:
//   tray.png, tray@2x.png                 white "A" on an indigo rounded square (Windows, Linux)
//   trayTemplate.png, trayTemplate@2x.png  the "A" alone, black on transparent: a macOS template
//                                         image, which the menu bar tints for light and dark mode
// Electron picks the @2x file on high-density screens and treats a name ending in
// "Template" as a template image. The output is deterministic; test/shell/tray-icon.test.ts
// checks that the committed files are what this script draws.
// Usage: node scripts/make-tray-icons.mjs [--out DIR]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = path.resolve(values.out ?? fileURLToPath(new URL('../resources/tray', import.meta.url)));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGBA PNG (colour type 6), every row with filter 0. */
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y += 1) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function distanceToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** The letter A as strokes in a unit square: two legs from the apex and a crossbar. */
function letterA({ apex, left, right, bar, stroke }) {
  return (x, y) =>
    distanceToSegment(x, y, apex, left) < stroke / 2 ||
    distanceToSegment(x, y, apex, right) < stroke / 2 ||
    distanceToSegment(x, y, bar[0], bar[1]) < stroke * 0.4;
}

function roundedSquare(margin, radius) {
  return (x, y) => {
    const qx = Math.max(Math.abs(x - 0.5) - (0.5 - margin - radius), 0);
    const qy = Math.max(Math.abs(y - 0.5) - (0.5 - margin - radius), 0);
    return Math.hypot(qx, qy) <= radius;
  };
}

/** Coverage of each pixel by `shape`, from 8×8 samples: smooth edges at 16 px. */
function draw(size, layers) {
  const SAMPLES = 8;
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py += 1) {
    for (let px = 0; px < size; px += 1) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const { shape, color } of layers) {
        let hits = 0;
        for (let sy = 0; sy < SAMPLES; sy += 1) {
          for (let sx = 0; sx < SAMPLES; sx += 1) {
            if (shape((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size)) hits += 1;
          }
        }
        const coverage = hits / (SAMPLES * SAMPLES);
        // "Over" compositing of this layer on what is below, straight (not premultiplied) alpha.
        const outA = coverage + a * (1 - coverage);
        if (outA > 0) {
          r = (color[0] * coverage + r * a * (1 - coverage)) / outA;
          g = (color[1] * coverage + g * a * (1 - coverage)) / outA;
          b = (color[2] * coverage + b * a * (1 - coverage)) / outA;
        }
        a = outA;
      }
      rgba.set([Math.round(r), Math.round(g), Math.round(b), Math.round(a * 255)], (py * size + px) * 4);
    }
  }
  return rgba;
}

const INDIGO = [79, 70, 229];
const WHITE = [255, 255, 255];
const BLACK = [0, 0, 0];
const badgeLetter = letterA({ apex: [0.5, 0.2], left: [0.27, 0.8], right: [0.73, 0.8], bar: [[0.36, 0.6], [0.64, 0.6]], stroke: 0.15 });
const templateLetter = letterA({ apex: [0.5, 0.08], left: [0.16, 0.92], right: [0.84, 0.92], bar: [[0.31, 0.64], [0.69, 0.64]], stroke: 0.17 });

const icons = {
  'tray.png': [16, [{ shape: roundedSquare(0.02, 0.2), color: INDIGO }, { shape: badgeLetter, color: WHITE }]],
  'tray@2x.png': [32, [{ shape: roundedSquare(0.02, 0.2), color: INDIGO }, { shape: badgeLetter, color: WHITE }]],
  'trayTemplate.png': [16, [{ shape: templateLetter, color: BLACK }]],
  'trayTemplate@2x.png': [32, [{ shape: templateLetter, color: BLACK }]],
};

fs.mkdirSync(out, { recursive: true });
for (const [name, [size, layers]] of Object.entries(icons)) fs.writeFileSync(path.join(out, name), png(size, draw(size, layers)));
process.stdout.write(`tray icons written to ${out}\n`);
