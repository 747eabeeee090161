// Bundles preload/index.ts into one CommonJS file: a sandboxed preload can
// neither be an ES module nor require anything but a few Electron-provided
// modules, so zod and common/ are inlined and only `electron` stays external.
// Usage: node scripts/build-preload.mjs [--outfile path]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { outfile: { type: 'string' } } });
const outfile = path.resolve(values.outfile ?? path.join(root, 'dist', 'preload', 'index.cjs'));

await build({
  absWorkingDir: root,
  entryPoints: [path.join(root, 'preload', 'index.ts')],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['electron'],
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
process.stdout.write(`preload bundled to ${path.relative(process.cwd(), outfile)}\n`);
