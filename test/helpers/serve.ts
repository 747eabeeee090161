import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { groupAlive } from '../../main/executions/process-group.js';
import { makeTempDir } from './temp.js';

// Not `new URL('../..', import.meta.url)`: under happy-dom (renderer tests that start an engine) the global URL is the DOM's, which resolves it elsewhere.
export const repoRoot = `${path.resolve(import.meta.dirname, '../..')}${path.sep}`;
export const cliPath = path.join(repoRoot, 'dist', 'main', 'cli.js');

export interface ReadyLine {
  event: 'ready';
  url: string;
  port: number;
  loginUrl: string;
  pid: number;
}

export interface ServeProcess {
  child: ChildProcess;
  /** Every stdout line so far (JSON log lines and the ready line). */
  stdout: string[];
  stderr: string[];
  ready: Promise<ReadyLine>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves when a stdout line satisfies `match`, looking at past lines too. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Signals every process of the tree's group (wrapper, supervisor, worker). */
  killGroup(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs the built CLI (`node dist/main/cli.js …`) as a real process tree. The
 * command defaults to `serve --port 0`; `wrap` lets a test run it inside
 * another program (dbus-run-session for the keychain tests).
 */
export function runCli(options: { args?: string[]; env: Record<string, string>; wrap?: (argv: string[]) => string[]; cwd?: string }): ServeProcess {
  const argv = ['node', cliPath, ...(options.args ?? ['serve', '--port', '0'])];
  const [command, ...args] = options.wrap ? options.wrap(argv) : argv;
  const child = spawn(command!, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a test can end the whole tree (wrappers included).
    detached: true,
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters: { match: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout.push(line);
    const parsed = parseJson(line);
    if (!parsed) return;
    for (const waiter of [...waiters]) {
      if (waiter.match(parsed)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLine = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    for (const line of stdout) {
      const parsed = parseJson(line);
      if (parsed && match(parsed)) return Promise.resolve(parsed);
    }
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching line within ${timeoutMs} ms; stdout:\n${stdout.join('\n')}\nstderr:\n${stderr.join('\n')}`)), timeoutMs);
      waiters.push({ match, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    });
  };

  const ready = Promise.race([
    waitForLine((line) => line.event === 'ready') as Promise<unknown> as Promise<ReadyLine>,
    exited.then((code) => {
      throw new Error(`agented exited with ${code} before it was ready:\n${stderr.join('\n')}`);
    }),
  ]);
  ready.catch(() => undefined);

  return {
    child,
    stdout,
    stderr,
    ready,
    exited,
    waitForLine,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    killGroup: async (signal = 'SIGKILL') => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
      const code = await exited;
      await groupGone(child.pid!);
      return code;
    },
  };
}

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once no process of the group `pgid` is left, or after `timeoutMs`.
 * A leader's exit is not its group's: a worker may still be ending a write
 * into the test's folder, which removing the folder then would race.
 */
export async function groupGone(pgid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** How many of the JSON log lines `serve` printed on stdout so far have this `msg`. */
export function linesWithMessage(server: ServeProcess, msg: string): number {
  return server.stdout.filter((line) => parseJson(line)?.msg === msg).length;
}

/** An executable that runs test/fixtures/scripted-agent.mjs (what it does is said by its prompt). */
export function scriptedAgent(dir: string): string {
  const file = path.join(dir, 'scripted-agent');
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'scripted-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  return file;
}

/**
 * One `agented serve` for a test file's tests: a fresh home with its data
 * (`dataDir`) and log folders, the API key from the environment, started
 * before the file's tests and stopped (SIGINT) after them. `ready` is its
 * ready line. With `scripted`, its Claude Code is the scripted agent.
 */
export function serveForFile(apiKey: string, options: { scripted?: boolean } = {}): { readonly ready: ReadyLine; readonly dataDir: string } {
  const temp = makeTempDir();
  const dataDir = `${temp.dir}/data`;
  let cli: ServeProcess | undefined;
  let ready: ReadyLine | undefined;
  beforeAll(async () => {
    const agent: Record<string, string> = options.scripted ? { AGENTED_CLAUDE_PATH: scriptedAgent(temp.dir) } : {};
    cli = runCli({ env: { HOME: temp.dir, AGENTED_API_KEY: apiKey, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: `${temp.dir}/logs`, ...agent } });
    ready = await cli.ready;
  }, 60_000);
  afterAll(async () => {
    await cli?.stop('SIGINT');
    if (cli) await groupGone(cli.child.pid!);
    temp.remove();
  });
  return {
    get ready() {
      if (!ready) throw new Error('agented serve is not ready yet (read `ready` inside a test)');
      return ready;
    },
    dataDir,
  };
}
