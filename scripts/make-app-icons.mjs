// Draws the app icon into build/ (or --out DIR) with nothing but zlib (scripts/lib/png.mjs):
//   icon.png  1024 × 1024: the tray badge's white "A" on an indigo rounded square
// electron-builder reads it from directories.buildResources (build/) and converts it
// for every target: .icns for the mac app and dmg (a PNG needs 512 px or more), the
// Windows app and nsis installer icon (256 px or more), and the Linux icon set for
// AppImage and deb (https://www.electron.build/icons/). 1024 px is the size its docs
// recommend, so no .icns or .ico is committed. The square leaves a 100 px margin, the
// inset of Apple's app icon grid, so the icon sits the size of its neighbours in the Dock.
// The output is deterministic; test/shell/electron-builder-config.test.ts checks that
// the committed file is what this script draws.
// Usage: node scripts/make-app-icons.mjs [--out DIR]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { INDIGO, WHITE, draw, letterA, png, roundedSquare } from './lib/png.mjs';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = path.resolve(values.out ?? fileURLToPath(new URL('../build', import.meta.url)));

const SIZE = 1024;
const MARGIN = 100 / SIZE;
/** The tray badge's letter (make-tray-icons.mjs), scaled into the inset square. */
const scale = 1 - 2 * MARGIN;
const at = ([x, y]) => [0.5 + (x - 0.5) * scale, 0.5 + (y - 0.5) * scale];
const letter = letterA({
  apex: at([0.5, 0.2]),
  left: at([0.27, 0.8]),
  right: at([0.73, 0.8]),
  bar: [at([0.36, 0.6]), at([0.64, 0.6])],
  stroke: 0.15 * scale,
});

// 4 × 4 samples a pixel: 17 levels of edge coverage, smooth at this size, and a quarter of the tray's cost.
const layers = [
  { shape: roundedSquare(MARGIN, 0.18 * scale), color: INDIGO },
  { shape: letter, color: WHITE },
];

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'icon.png'), png(SIZE, draw(SIZE, layers, 4)));
process.stdout.write(`app icon written to ${out}\n`);
