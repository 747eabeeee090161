// Draws the tray icons into resources/tray/ (or --out DIR) with nothing but zlib
// (the encoder and shapes are in scripts/lib/png.mjs, shared with make-app-icons.mjs):
//   tray.png, tray@2x.png                 white "A" on an indigo rounded square (Windows, Linux)
//   trayTemplate.png, trayTemplate@2x.png  the "A" alone, black on transparent: a macOS template
//                                         image, which the menu bar tints for light and dark mode
// Electron picks the @2x file on high-density screens and treats a name ending in
// "Template" as a template image. The output is deterministic; test/shell/tray-icon.test.ts
// checks that the committed files are what this script draws.
// Usage: node scripts/make-tray-icons.mjs [--out DIR]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BLACK, INDIGO, WHITE, draw, letterA, png, roundedSquare } from './lib/png.mjs';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
const out = path.resolve(values.out ?? fileURLToPath(new URL('../resources/tray', import.meta.url)));

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
