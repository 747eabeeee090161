// Scans the Electron-facing sources (main/shell, preload, renderer) with
// Electronegativity and fails on any HIGH-severity finding.
// Usage: node scripts/electronegativity.mjs [--root DIR]   (DIR defaults to the repository)
//
// The sources are staged in a temporary folder first, so one run sees the
// whole app (its global checks relate the window options, the navigation
// guards and the page's CSP) and nothing else of the repository. Vue single-file
// components are split into their <script> (scanned as TypeScript) and their
// <template> (scanned as HTML), which the tool would otherwise skip.
//
// The tool's programmatic API is used rather than its CSV file: that file's header
// is written concurrently with the rows and can overwrite them, and the SARIF file
// has no severity. The "available security fixes" check is excluded: it needs
// Electron's release list from the network, which CI does not have.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' } } });
const root = path.resolve(values.root ?? fileURLToPath(new URL('..', import.meta.url)));
const require = createRequire(path.join(fileURLToPath(new URL('..', import.meta.url)), 'package.json'));
const run = require('@doyensec/electronegativity');

/** The Electron version the app is built with: the installed package, else the range in package.json. */
function electronVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  } catch {
    const range = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies?.electron ?? '';
    const match = /\d+\.\d+\.\d+/.exec(range);
    if (!match) throw new Error('cannot tell the Electron version: install electron or pin it in package.json');
    return match[0];
  }
}

const SOURCES = ['main/shell', 'preload', 'renderer/index.html', 'renderer/src'];
const SCANNED = /\.(ts|tsx|js|mjs|cjs|html)$/;

function stage(into) {
  let files = 0;
  const copy = (relative) => {
    const from = path.join(root, relative);
    if (!fs.existsSync(from)) return;
    if (fs.statSync(from).isDirectory()) {
      for (const entry of fs.readdirSync(from)) copy(path.join(relative, entry));
      return;
    }
    const to = path.join(into, relative);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (relative.endsWith('.vue')) {
      const text = fs.readFileSync(from, 'utf8');
      const script = [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((match) => match[1]).join('\n');
      const template = /<template\b[^>]*>([\s\S]*)<\/template>/.exec(text)?.[1];
      if (script.trim()) fs.writeFileSync(`${to}.ts`, script);
      if (template?.trim()) fs.writeFileSync(`${to}.html`, template);
      files += 1;
    } else if (SCANNED.test(relative) && !relative.endsWith('.d.ts')) {
      fs.copyFileSync(from, to);
      files += 1;
    }
  };
  for (const source of SOURCES) copy(source);
  return files;
}

const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'agented-electronegativity-'));
try {
  const files = stage(staging);
  if (files === 0) throw new Error(`nothing to scan under ${root} (${SOURCES.join(', ')})`);
  const version = electronVersion();
  const result = await run({
    input: staging,
    isRelative: true,
    electronVersionOverride: version,
    excludeFromScan: ['AvailableSecurityFixesGlobalCheck'],
  });
  const failedFiles = result.errors.filter((error) => !error.tolerable);
  for (const error of result.errors) console.log(`${error.tolerable ? 'warning' : 'error'}: ${error.file}: ${error.message}`);
  const issues = [...result.issues].sort((a, b) => b.severity.value - a.severity.value);
  for (const issue of issues) {
    console.log(`${issue.severity.name.padEnd(13)} ${issue.confidence.name.padEnd(9)} ${issue.id}  ${issue.file}:${issue.location.line}:${issue.location.column}`);
    console.log(`${' '.repeat(24)}${issue.description} (${issue.shortenedURL})`);
  }
  const high = issues.filter((issue) => issue.severity.name === 'HIGH');
  const counts = ['HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'].map((name) => `${issues.filter((issue) => issue.severity.name === name).length} ${name.toLowerCase()}`);
  console.log(`electronegativity: ${files} files scanned (Electron ${version}), ${result.atomicChecks + result.globalChecks} checks, findings: ${counts.join(', ')}`);
  if (failedFiles.length > 0) {
    console.log('electronegativity: FAILED — some files could not be parsed, so they were not checked');
    process.exitCode = 1;
  } else if (high.length > 0) {
    console.log('electronegativity: FAILED — fix every HIGH finding (or, for a proven false positive, say why next to an `eng-disable` comment)');
    process.exitCode = 1;
  }
} finally {
  fs.rmSync(staging, { recursive: true, force: true });
}
