// What `npm start` runs after the build: the desktop app when the Electron
// runtime is installed, otherwise `agented serve`, so a machine without the
// binary (CI, a server, an install with ELECTRON_SKIP_BINARY_DOWNLOAD=1)
// still gets a working app. Extra arguments go to `agented serve`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The Electron executable, or undefined. `require('electron')` returns its
 * path, but when the binary is missing it first tries to download it and then
 * throws "Electron failed to install correctly", so look before requiring.
 */
function electronBinary() {
  let packageDir;
  try {
    packageDir = path.dirname(require.resolve('electron'));
  } catch {
    return undefined;
  }
  const pathFile = path.join(packageDir, 'path.txt');
  const relative = fs.existsSync(pathFile) ? fs.readFileSync(pathFile, 'utf8') : undefined;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const expected = override ? path.join(override, relative || 'electron') : relative && path.join(packageDir, 'dist', relative);
  if (!expected || !fs.existsSync(expected)) return undefined;
  try {
    const binary = require('electron');
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a child with our terminal, passes our stop signals on, and exits as it
 * does. The child has its own process group: a terminal's Ctrl-C would
 * otherwise reach it directly and again through us, and `agented serve` takes
 * a second SIGINT as "cancel the running executions".
 */
function runForwarding(command, args, env) {
  const child = spawn(command, args, { cwd: root, stdio: 'inherit', env, detached: true });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // Closing the terminal hangs up only its foreground group, which the child is no longer in.
  process.on('SIGHUP', forward);
  child.on('error', (error) => {
    process.stderr.write(`agented: could not start ${command}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
  });
}

const binary = electronBinary();
if (binary) {
  const env = { ...process.env };
  // Set in the environment, it would make the binary behave as plain Node instead of opening the app.
  delete env.ELECTRON_RUN_AS_NODE;
  runForwarding(binary, ['.'], env);
} else {
  process.stderr.write('Electron runtime not found (the binary was not downloaded); running `agented serve` instead\n');
  runForwarding(process.execPath, [path.join(root, 'dist', 'main', 'cli.js'), 'serve', ...process.argv.slice(2)], process.env);
}
