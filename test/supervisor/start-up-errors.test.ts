import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { linesWithMessage, runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

/*
 * `agented serve` with a setting that no restart can make work: the worker
 * reports it as fatal, the supervisor stops at once and prints one line that
 * names the setting — no crash loop, no stack trace. A log folder that cannot
 * be made is the supervisor's own start: a configuration error (exit 2).
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempHome(): { home: string; env: Record<string, string> } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return {
    home: temp.dir,
    env: {
      HOME: temp.dir,
      AGENTED_API_KEY: 'start-up-errors-test-key-0123456789',
      AGENTED_DATA_DIR: path.join(temp.dir, 'data'),
      AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
    },
  };
}

/** Runs `serve --port 0` to its exit (it must exit on its own). */
async function serveUntilExit(env: Record<string, string>): Promise<{ code: number | null; server: ServeProcess }> {
  const server = runCli({ env });
  cleanups.push(() => server.killGroup('SIGKILL'));
  const code = await within(server.exited, 15_000, 'agented serve exiting on a start-up error');
  return { code, server };
}

/** What a person reads on the terminal: the non-empty stderr lines. */
const stderrLines = (server: ServeProcess) => server.stderr.filter((line) => line.trim() !== '');

function expectOneStartAndNoRestart(server: ServeProcess): void {
  expect(linesWithMessage(server, 'worker started')).toBe(1);
  expect(linesWithMessage(server, 'worker crashed; restarting')).toBe(0);
  expect(linesWithMessage(server, 'supervisor gave up')).toBe(1);
  expect(server.stderr.join('\n')).not.toMatch(/crashed \d+ times|^\s+at /m);
}

describe('agented serve: a start-up error a restart cannot fix', () => {
  it('AGENTED_HOST that does not resolve: one line naming AGENTED_HOST, exit 1, no restart', async () => {
    const { env } = tempHome();
    const { code, server } = await serveUntilExit({ ...env, AGENTED_HOST: 'nonexistent.invalid' });

    expect(code).toBe(1);
    expect(stderrLines(server)).toEqual([expect.stringMatching(/^agented: ENOTFOUND: AGENTED_HOST="nonexistent\.invalid" cannot be listened on: nonexistent\.invalid does not resolve/)]);
    expectOneStartAndNoRestart(server);
  });

  it('AGENTED_DATA_DIR below a file: one line naming AGENTED_DATA_DIR, exit 1, no restart', async () => {
    const { home, env } = tempHome();
    const file = path.join(home, 'a-file');
    fs.writeFileSync(file, '');
    const dataDir = path.join(file, 'sub');
    const { code, server } = await serveUntilExit({ ...env, AGENTED_DATA_DIR: dataDir });

    expect(code).toBe(1);
    expect(stderrLines(server)).toEqual([`agented: ENOTDIR: AGENTED_DATA_DIR=${JSON.stringify(dataDir)} cannot be used: ENOTDIR: not a directory, mkdir '${dataDir}'`]);
    expectOneStartAndNoRestart(server);
  });

  it('AGENTED_DATA_DIR whose agented.db SQLite cannot open (a folder in its place): one line naming AGENTED_DATA_DIR, exit 1, no restart', async () => {
    const { env } = tempHome();
    const dataDir = env.AGENTED_DATA_DIR!;
    fs.mkdirSync(path.join(dataDir, 'agented.db'), { recursive: true });
    const { code, server } = await serveUntilExit(env);

    expect(code).toBe(1);
    expect(stderrLines(server)).toEqual([`agented: SQLITE_CANTOPEN: AGENTED_DATA_DIR=${JSON.stringify(dataDir)} cannot be used: SQLite: unable to open database file`]);
    expectOneStartAndNoRestart(server);
  });

  it('AGENTED_LOG_DIR that is a file: a configuration error on one line, exit 2, no worker started', async () => {
    const { home, env } = tempHome();
    const file = path.join(home, 'a-file');
    fs.writeFileSync(file, '');
    const { code, server } = await serveUntilExit({ ...env, AGENTED_LOG_DIR: file });

    expect(code).toBe(2);
    expect(stderrLines(server)).toEqual([
      `agented: Invalid configuration: AGENTED_LOG_DIR cannot be used as the log folder: EEXIST: file already exists, mkdir '${file}' (got ${JSON.stringify(file)})`,
    ]);
    expect(linesWithMessage(server, 'worker started')).toBe(0);
    // Nothing was made for a server that never started.
    expect(fs.existsSync(env.AGENTED_DATA_DIR!)).toBe(false);
  });
});
