// Starting benchmark subjects as their own processes, so none competes with the load generator.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Starts `node <args>` and resolves once it prints a JSON line with "event":"ready" and a url. */
export function startProcess(args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('"event":"ready"')) return;
      const { url } = JSON.parse(line);
      resolve({ url, pid: child.pid, stop: () => new Promise((done) => { child.once('exit', done); child.kill('SIGTERM'); }) });
    });
  });
}

export async function withTempDir(body) {
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'agented-bench-'));
  try {
    return await body(temp);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

/**
 * The subject's side of startProcess: listens on a free loopback port, prints the ready line with its URL, and on
 * SIGTERM stops listening, runs `cleanup` and exits.
 */
export function serveUntilStopped(server, cleanup = () => {}) {
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${server.address().port}` })}\n`);
  });
  process.on('SIGTERM', () =>
    server.close(() => {
      cleanup();
      process.exit(0);
    }),
  );
}
