import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TRAY_ICON_DIR, trayIconPath } from '../../main/shell/tray-icon.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

interface Decoded {
  width: number;
  height: number;
  colorType: number;
  /** RGBA, row by row. */
  pixels: Buffer;
}

/** Reads the PNGs the generator writes: 8-bit RGBA, no interlace, filter 0 on every row. */
function decodePng(file: string): Decoded {
  const bytes = fs.readFileSync(file);
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let header: Buffer | undefined;
  const data: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('ascii', offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = body;
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  if (!header) throw new Error(`${file}: no IHDR`);
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const rows = zlib.inflateSync(Buffer.concat(data));
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    expect(rows[y * (width * 4 + 1)], 'filter type').toBe(0);
    rows.copy(pixels, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, colorType: header[9]!, pixels };
}

const icons = path.join(repoRoot, TRAY_ICON_DIR);

describe('tray icons', () => {
  it('macOS gets the template image; Windows and Linux the coloured one', () => {
    expect(trayIconPath('darwin', repoRoot)).toBe(path.join(icons, 'trayTemplate.png'));
    expect(trayIconPath('linux', repoRoot)).toBe(path.join(icons, 'tray.png'));
    expect(trayIconPath('win32', repoRoot)).toBe(path.join(icons, 'tray.png'));
  });

  it.each([
    ['tray.png', 16],
    ['tray@2x.png', 32],
    ['trayTemplate.png', 16],
    ['trayTemplate@2x.png', 32],
  ])('%s is a %i px RGBA PNG', (name, size) => {
    const png = decodePng(path.join(icons, name));
    expect({ width: png.width, height: png.height, colorType: png.colorType }).toEqual({ width: size, height: size, colorType: 6 });
  });

  it('the template images are black with alpha only (macOS tints them by alpha), and draw something', () => {
    for (const name of ['trayTemplate.png', 'trayTemplate@2x.png']) {
      const { pixels } = decodePng(path.join(icons, name));
      let opaque = 0;
      for (let index = 0; index < pixels.length; index += 4) {
        if (pixels[index + 3]! > 0) expect([pixels[index], pixels[index + 1], pixels[index + 2]]).toEqual([0, 0, 0]);
        if (pixels[index + 3] === 255) opaque += 1;
      }
      expect(opaque).toBeGreaterThan(pixels.length / 4 / 8);
    }
  });

  it('are what scripts/make-tray-icons.mjs draws', () => {
    const temp = makeTempDir();
    try {
      execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'make-tray-icons.mjs'), '--out', temp.dir]);
      for (const name of fs.readdirSync(icons)) expect(fs.readFileSync(path.join(temp.dir, name)).equals(fs.readFileSync(path.join(icons, name))), name).toBe(true);
      expect(fs.readdirSync(temp.dir).sort()).toEqual(fs.readdirSync(icons).sort());
    } finally {
      temp.remove();
    }
  });
});
