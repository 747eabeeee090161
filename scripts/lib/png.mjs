// The drawing kit behind scripts/make-tray-icons.mjs and scripts/make-app-icons.mjs:
// an 8-bit RGBA PNG encoder and anti-aliased shapes, with nothing but zlib, so the
// icons are reproducible from source on any machine (tests redraw and compare them).
import zlib from 'node:zlib';

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
export function png(size, rgba) {
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

/** Squared distance from (px, py) to the segment a–b: compared with a squared radius, no square root per sample. */
function squaredDistanceToSegment(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  const ex = px - (ax + t * dx);
  const ey = py - (ay + t * dy);
  return ex * ex + ey * ey;
}

/** The letter A as strokes in a unit square: two legs from the apex and a crossbar. */
export function letterA({ apex, left, right, bar, stroke }) {
  const leg = (stroke / 2) ** 2;
  const crossbar = (stroke * 0.4) ** 2;
  return (x, y) =>
    squaredDistanceToSegment(x, y, apex, left) < leg ||
    squaredDistanceToSegment(x, y, apex, right) < leg ||
    squaredDistanceToSegment(x, y, bar[0], bar[1]) < crossbar;
}

export function roundedSquare(margin, radius) {
  return (x, y) => {
    const qx = Math.max(Math.abs(x - 0.5) - (0.5 - margin - radius), 0);
    const qy = Math.max(Math.abs(y - 0.5) - (0.5 - margin - radius), 0);
    return qx * qx + qy * qy <= radius * radius;
  };
}

/**
 * Coverage of each pixel by each layer's `shape`, from samples × samples points
 * (8 × 8 gives smooth edges at 16 px; a large icon needs fewer), composited in order.
 */
export function draw(size, layers, samples = 8) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py += 1) {
    for (let px = 0; px < size; px += 1) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const { shape, color } of layers) {
        let hits = 0;
        for (let sy = 0; sy < samples; sy += 1) {
          for (let sx = 0; sx < samples; sx += 1) {
            if (shape((px + (sx + 0.5) / samples) / size, (py + (sy + 0.5) / samples) / size)) hits += 1;
          }
        }
        const coverage = hits / (samples * samples);
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

/** The app's colours and its "A", shared by the tray and the app icon so they stay one mark. */
export const INDIGO = [79, 70, 229];
export const WHITE = [255, 255, 255];
export const BLACK = [0, 0, 0];
