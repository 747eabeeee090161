import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendChecklist, BackendStatus } from '../../common/backends.js';
import { BackendHealth } from '../../main/backends/backend-health.js';
import { detectBackends } from '../../main/backends/detect.js';
import { BackendLocator } from '../../main/backends/locator.js';
import { processRunning } from '../../main/executions/process-group.js';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A home with no profile and a minimal PATH: only the CLIs the test configures are found. */
function userHome(): { HOME: string; SHELL: string; PATH: string } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return { HOME: temp.dir, SHELL: '/bin/bash', PATH: '/usr/bin:/bin' };
}

const byName = (items: BackendStatus[]) => Object.fromEntries(items.map((item) => [item.name, item]));

/** Any C0 or C1 control character, DEL, or a JSON escape of one (`\u001b`…): none may reach a terminal or the dashboard. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]|\\u00[01][0-9a-f]|\\u007f|\\u00[89][0-9a-f]/i;

/** A fake `claude` whose `--version` prints `output` (a printf format, so escapes are real bytes) and exits 0. */
function fakeCli(home: string, output: string): string {
  const executable = path.join(home, 'claude');
  fs.writeFileSync(executable, `#!/bin/sh\nprintf '${output}'\n`, { mode: 0o755 });
  return executable;
}

describe('CLI health checklist: what `--version` printed is checked', () => {
  const garbage = String.raw`\033[31m\001\002garbage… Segmentation fault? <html>\033[0m\n<body>\n`;

  it('garbage instead of a version: installed, not usable, a clean and short hint', async () => {
    const env = { ...userHome(), ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' };
    const executable = fakeCli(env.HOME, garbage);
    const items = await detectBackends({ env, searchPath: env.PATH, overrides: { claude: executable } });
    const claude = byName(items).claude!;
    expect(claude).toMatchObject({ installed: true, path: executable, version: null, authenticated: true, usable: false });
    expect(claude.hint).toContain(`\`${executable} --version\` printed no version`);
    expect(claude.hint).toContain('garbage… Segmentation fault? <html>');
    expect(claude.hint).not.toContain('<body>');
    expect(JSON.stringify(items)).not.toMatch(CONTROL);
  });

  it('a version with colours is kept without them; a long one is cut short', async () => {
    const env = { ...userHome(), ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' };
    const coloured = fakeCli(env.HOME, String.raw`\033[1m\033]8;;https://x.invalid\0072.3.4\033]8;;\007\033[0m\t(Claude Code)\r\n`);
    const claude = byName(await detectBackends({ env, searchPath: env.PATH, overrides: { claude: coloured } })).claude!;
    expect(claude).toMatchObject({ version: '2.3.4 (Claude Code)', usable: true, hint: null });

    const long = fakeCli(env.HOME, `1.2.3 ${'x'.repeat(5_000)}\\n`);
    const item = byName(await detectBackends({ env, searchPath: env.PATH, overrides: { claude: long } })).claude!;
    expect(item.usable).toBe(true);
    expect(item.version!.startsWith('1.2.3 xxx')).toBe(true);
    expect(item.version!.length).toBeLessThanOrEqual(100);
  });

  it('a failing `--version` has its error output cleaned too', async () => {
    const env = userHome();
    const executable = path.join(env.HOME, 'claude');
    fs.writeFileSync(executable, `#!/bin/sh\nprintf '\\033[31mfatal: \\001broken\\033[0m\\n' >&2\nexit 3\n`, { mode: 0o755 });
    const claude = byName(await detectBackends({ env, searchPath: env.PATH, overrides: { claude: executable } })).claude!;
    expect(claude).toMatchObject({ installed: true, version: null, usable: false });
    expect(claude.hint).toContain('failed (fatal: broken)');
    expect(JSON.stringify(claude)).not.toMatch(CONTROL);
  });

  it('`agented doctor` prints no control character from it', async () => {
    const env = userHome();
    const executable = fakeCli(env.HOME, garbage);
    const base = { ...env, AGENTED_DATA_DIR: path.join(env.HOME, 'data'), AGENTED_LOG_DIR: path.join(env.HOME, 'logs') };
    const doctor = runCli({ args: ['doctor'], env: { ...base, AGENTED_CLAUDE_PATH: executable, ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' } });
    expect(await doctor.exited).toBe(1);
    const text = doctor.stdout.join('\n');
    expect(text).toMatch(/claude\s+unknown version at /);
    expect(text).toMatch(/printed no version/);
    for (const line of doctor.stdout) expect(line).not.toMatch(CONTROL);
  }, 60_000);
});

/**
 * A fake `claude`: answers `--version` with the version in `<dir>/version`
 * while `<dir>/hang` does not exist, and hangs (sleeps) while it does. Every
 * run appends its pid to `<dir>/runs`.
 */
function switchableCli(): { executable: string; hang: (on: boolean) => void; setVersion: (version: string) => void; runs: () => number[] } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const file = (name: string) => path.join(temp.dir, name);
  const executable = file('claude');
  fs.writeFileSync(file('version'), '1.0.0');
  fs.writeFileSync(
    executable,
    `#!/bin/sh\necho $$ >> "${file('runs')}"\nif [ -f "${file('hang')}" ]; then exec sleep 60; fi\necho "$(cat "${file('version')}") (Claude Code)"\n`,
    { mode: 0o755 },
  );
  const runs = () => (fs.existsSync(file('runs')) ? fs.readFileSync(file('runs'), 'utf8').trim().split('\n').filter(Boolean).map(Number) : []);
  cleanups.push(() => {
    for (const pid of runs()) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  return {
    executable,
    hang: (on) => (on ? fs.writeFileSync(file('hang'), '') : fs.rmSync(file('hang'), { force: true })),
    setVersion: (version) => fs.writeFileSync(file('version'), version),
    runs,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

describe('CLI health checklist: a stale checklist is served while a hanging `--version` is checked again', () => {
  const MAX_AGE_MS = 500;
  const VERSION_TIMEOUT_MS = 4_000;

  it('BackendHealth answers from the last result, refreshes once in the background, and waits only for the first check and an explicit refresh', async () => {
    const env = { ...userHome(), ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' };
    const cli = switchableCli();
    const health = new BackendHealth({ env, locator: new BackendLocator({ env, overrides: { claude: cli.executable } }), maxAgeMs: MAX_AGE_MS, versionTimeoutMs: VERSION_TIMEOUT_MS });
    cleanups.push(() => health.dispose());

    const first = await health.checklist();
    expect(byName(first.items).claude).toMatchObject({ version: '1.0.0 (Claude Code)', usable: true });

    cli.hang(true);
    await sleep(MAX_AGE_MS + 100);
    const stale = await timed(() => health.checklist());
    expect(stale.ms).toBeLessThan(VERSION_TIMEOUT_MS / 4);
    expect(stale.value.checkedAt).toBe(first.checkedAt);
    // Asked again while that refresh hangs: still the old result, and no second refresh.
    await sleep(MAX_AGE_MS + 100);
    const again = await timed(() => health.checklist());
    expect(again.ms).toBeLessThan(VERSION_TIMEOUT_MS / 4);
    expect(again.value.checkedAt).toBe(first.checkedAt);
    expect(cli.runs()).toHaveLength(2);

    // The refresh ends at its timeout, its process killed; the next answer is its result.
    const deadline = Date.now() + VERSION_TIMEOUT_MS + 10_000;
    let refreshed = health.peek()!;
    while (refreshed.checkedAt === first.checkedAt && Date.now() < deadline) {
      await sleep(100);
      refreshed = health.peek()!;
    }
    expect(refreshed.checkedAt).not.toBe(first.checkedAt);
    expect(byName(refreshed.items).claude).toMatchObject({ installed: true, version: null, usable: false });
    expect(byName(refreshed.items).claude!.hint).toMatch(new RegExp(`timed out after ${VERSION_TIMEOUT_MS} ms`));
    expect(cli.runs().filter(processRunning)).toEqual([]);

    // An explicit refresh waits for a check of its own.
    cli.hang(false);
    cli.setVersion('2.0.0');
    const explicit = await health.checklist(true);
    expect(byName(explicit.items).claude).toMatchObject({ version: '2.0.0 (Claude Code)', usable: true });
  }, 40_000);

  it('a stopping worker (dispose) ends a background refresh in progress, tree and all', async () => {
    const env = userHome();
    const cli = switchableCli();
    const health = new BackendHealth({ env, locator: new BackendLocator({ env, overrides: { claude: cli.executable } }), maxAgeMs: MAX_AGE_MS, versionTimeoutMs: 60_000 });
    await health.checklist();
    cli.hang(true);
    await sleep(MAX_AGE_MS + 100);
    await health.checklist();
    const deadline = Date.now() + 10_000;
    while (cli.runs().length < 2 && Date.now() < deadline) await sleep(25);
    expect(cli.runs()).toHaveLength(2);
    await sleep(200);
    const disposed = await timed(() => health.dispose());
    expect(disposed.ms).toBeLessThan(10_000);
    expect(cli.runs().filter(processRunning)).toEqual([]);
  }, 40_000);

  it('GET /api/backends: the second GET after the cache went stale answers at once with the stale result; a later one has the refreshed result', async () => {
    const cli = switchableCli();
    const server = await startInProcess({
      ...userHome(),
      AGENTED_CLAUDE_PATH: cli.executable,
      ANTHROPIC_API_KEY: 'sk-ant-route-secret-0123456789',
      AGENTED_BACKENDS_MAX_AGE_MS: String(MAX_AGE_MS),
      AGENTED_VERSION_TIMEOUT_MS: String(VERSION_TIMEOUT_MS),
    });
    cleanups.push(() => server.close());
    const get = async (query = '') => {
      const response = await request(server.url, { path: `/api/backends${query}`, headers: { authorization: `Bearer ${server.key}` } });
      expect(response.status).toBe(200);
      return response.json<BackendChecklist>();
    };

    const first = await get();
    expect(byName(first.items).claude).toMatchObject({ version: '1.0.0 (Claude Code)', usable: true });

    cli.hang(true);
    await sleep(MAX_AGE_MS + 100);
    const stale = await timed(() => get());
    expect(stale.ms).toBeLessThan(VERSION_TIMEOUT_MS / 4);
    expect(stale.value.checkedAt).toBe(first.checkedAt);
    expect(byName(stale.value.items).claude).toMatchObject({ usable: true });

    const deadline = Date.now() + VERSION_TIMEOUT_MS + 10_000;
    let later = stale.value;
    while (later.checkedAt === first.checkedAt && Date.now() < deadline) {
      await sleep(200);
      const answer = await timed(() => get());
      expect(answer.ms).toBeLessThan(VERSION_TIMEOUT_MS / 4);
      later = answer.value;
    }
    expect(later.checkedAt).not.toBe(first.checkedAt);
    expect(byName(later.items).claude).toMatchObject({ installed: true, version: null, usable: false });
    expect(byName(later.items).claude!.hint).toMatch(new RegExp(`timed out after ${VERSION_TIMEOUT_MS} ms`));
  }, 40_000);
});
