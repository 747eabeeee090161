import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAY_ICON_DIR, trayIconPath } from '../../main/shell/tray-icon.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { decodePng } from './png.js';

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
