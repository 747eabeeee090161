import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendChecklist, BackendStatus } from '../../common/backends.js';
import { BackendLocator } from '../../main/backends/locator.js';
import { BackendHealth } from '../../main/backends/backend-health.js';
import { detectBackends } from '../../main/backends/detect.js';
import { loginShellPath } from '../../main/backends/login-path.js';
import { processRunning } from '../../main/executions/process-group.js';
import { AGENT_CLI_VERSIONS, agentClisBin } from '../helpers/agent-clis.js';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A user whose CLIs are on PATH only through their shell profile — as with
 * nvm or ~/.local/bin — while the app itself starts with the minimal PATH a
 * desktop launcher gives it.
 */
function userHome(profile: string | null): { HOME: string; SHELL: string; PATH: string } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  if (profile !== null) fs.writeFileSync(path.join(temp.dir, '.bash_profile'), profile);
  return { HOME: temp.dir, SHELL: '/bin/bash', PATH: '/usr/bin:/bin' };
}

const byName = (items: BackendStatus[]) => Object.fromEntries(items.map((item) => [item.name, item]));

describe('CLI health checklist (the real CLIs, pinned)', () => {
  it("finds all four through the login shell's PATH, with their versions, and says how to log in", async () => {
    const env = userHome(`export PATH="$PATH:${agentClisBin()}"\n`);
    const checklist = await new BackendHealth({ env, locator: new BackendLocator({ env, overrides: {} }) }).checklist();
    expect(checklist.pathSource).toBe('login-shell');
    const items = byName(checklist.items);
    for (const [name, version] of Object.entries(AGENT_CLI_VERSIONS)) {
      const item = items[name]!;
      expect(item, name).toMatchObject({ installed: true, authenticated: false, usable: false });
      expect(item.path).toBe(path.join(agentClisBin(), name));
      expect(item.version).toContain(version);
    }
    expect(items.claude!.hint).toMatch(/\/login|ANTHROPIC_API_KEY/);
    expect(items.codex!.hint).toMatch(/codex login/);
    expect(items.opencode!.hint).toMatch(/opencode auth login/);
  }, 60_000);

  it('without the profile the same app sees none of them, and says how to install each', async () => {
    const env = userHome(null);
    const items = byName((await new BackendHealth({ env, locator: new BackendLocator({ env, overrides: {} }) }).checklist()).items);
    expect(items.claude).toMatchObject({ installed: false, path: null, usable: false, hint: 'install it: npm install -g @anthropic-ai/claude-code' });
    expect(items.codex!.hint).toBe('install it: npm install -g @openai/codex');
    expect(items.gemini!.hint).toBe('install it: npm install -g @google/gemini-cli');
    expect(items.opencode!.hint).toBe('install it: npm install -g opencode-ai');
  });

  it('an API key or a credentials file makes a CLI usable; the secret never appears', async () => {
    const env = { ...userHome(`export PATH="$PATH:${agentClisBin()}"\n`), ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' };
    fs.mkdirSync(path.join(env.HOME, '.codex'));
    fs.writeFileSync(path.join(env.HOME, '.codex', 'auth.json'), '{"OPENAI_API_KEY":"sk-file-secret-value"}');
    const checklist = await new BackendHealth({ env, locator: new BackendLocator({ env, overrides: {} }) }).checklist();
    const items = byName(checklist.items);
    expect(items.claude).toMatchObject({ authenticated: true, usable: true, authSource: 'ANTHROPIC_API_KEY', hint: null });
    expect(items.codex).toMatchObject({ authenticated: true, usable: true, authSource: path.join(env.HOME, '.codex', 'auth.json') });
    expect(items.gemini).toMatchObject({ authenticated: false, usable: false });
    const text = JSON.stringify(checklist);
    expect(text).not.toContain('sk-ant-test-secret-value');
    expect(text).not.toContain('sk-file-secret-value');
  }, 60_000);

  it('a login shell that hangs falls back to the process PATH after the timeout', async () => {
    const env = userHome('sleep 30\n');
    const started = Date.now();
    const checklist = await new BackendHealth({ env, locator: new BackendLocator({ env, overrides: {}, shellTimeoutMs: 500 }) }).checklist();
    expect(checklist.pathSource).toBe('process');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('GET /api/backends serves the checklist, honours a configured path, and caches until ?refresh=1', async () => {
    const env = userHome(null);
    const claude = path.join(agentClisBin(), 'claude');
    const server = await startInProcess({ ...env, AGENTED_CLAUDE_PATH: claude, ANTHROPIC_API_KEY: 'sk-ant-route-secret-0123456789' });
    cleanups.push(() => server.close());
    const get = (query = '') => request(server.url, { path: `/api/backends${query}`, headers: { authorization: `Bearer ${server.key}` } });
    const first = await get();
    expect(first.status).toBe(200);
    const checklist = first.json<BackendChecklist>();
    expect(byName(checklist.items).claude).toMatchObject({ installed: true, path: claude, usable: true });
    expect(first.body).not.toContain('sk-ant-route-secret');
    expect((await get()).json<BackendChecklist>().checkedAt).toBe(checklist.checkedAt);
    expect((await get('?refresh=1')).json<BackendChecklist>().checkedAt).not.toBe(checklist.checkedAt);
  });

  it('`agented doctor` prints the checklist and exits 1 when nothing is usable, 0 when something is', async () => {
    const env = userHome(`export PATH="$PATH:${agentClisBin()}"\n`);
    const base = { ...env, AGENTED_DATA_DIR: path.join(env.HOME, 'data'), AGENTED_LOG_DIR: path.join(env.HOME, 'logs') };
    const none = runCli({ args: ['doctor'], env: base });
    expect(await none.exited).toBe(1);
    const text = none.stdout.join('\n');
    expect(text).toMatch(/claude\s+2\.1\.332 \(Claude Code\) at .*; not authenticated/);
    expect(text).toMatch(/fix: run `codex login`/);
    expect(text).toMatch(/No agent CLI is usable/);

    const some = runCli({ args: ['doctor', '--json'], env: { ...base, GEMINI_API_KEY: 'gemini-secret-0123456789' } });
    expect(await some.exited).toBe(0);
    const checklist = JSON.parse(some.stdout.join('\n')) as BackendChecklist;
    expect(byName(checklist.items).gemini).toMatchObject({ usable: true, authSource: 'GEMINI_API_KEY' });
    expect(some.stdout.join('\n')).not.toContain('gemini-secret');
  }, 90_000);
});

describe('CLI health checklist: a `--version` that hangs', () => {
  /** A "claude" that never answers --version, ignores SIGINT and SIGTERM and starts a child and a grandchild; their pids go to a file. */
  function hangingCli(): { executable: string; pids: () => number[] } {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'stubborn-tree.mjs');
    const pidsFile = path.join(temp.dir, 'pids');
    const executable = path.join(temp.dir, 'claude');
    fs.writeFileSync(executable, `#!/bin/sh\nexec "${process.execPath}" "${fixture}" > "${pidsFile}"\n`, { mode: 0o755 });
    const pids = () => {
      const text = fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8').trim() : '';
      return text === '' ? [] : (JSON.parse(text) as { pids: number[] }).pids;
    };
    cleanups.push(() => {
      for (const pid of pids()) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
    });
    return { executable, pids };
  }

  async function allRunning(pids: () => number[]): Promise<number[]> {
    const deadline = Date.now() + 10_000;
    while (pids().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(pids()).toHaveLength(3);
    return pids();
  }

  it('times out, says so, and leaves no process of its tree running', async () => {
    const env = userHome(null);
    const cli = hangingCli();
    const checking = detectBackends({ env, searchPath: env.PATH, overrides: { claude: cli.executable }, versionTimeoutMs: 1_500 });
    const pids = await allRunning(cli.pids);
    const claude = byName(await checking).claude!;
    expect(claude).toMatchObject({ installed: true, version: null, usable: false });
    expect(claude.hint).toMatch(/--version` failed \(timed out after 1500 ms\)/);
    expect(pids.filter(processRunning)).toEqual([]);
  }, 20_000);

  it('a stopping worker (dispose) ends a check in progress, tree and all', async () => {
    const env = userHome(null);
    const cli = hangingCli();
    const health = new BackendHealth({ env, locator: new BackendLocator({ env, overrides: { claude: cli.executable } }) });
    const checking = health.checklist();
    const pids = await allRunning(cli.pids);
    await health.dispose();
    expect(pids.filter(processRunning)).toEqual([]);
    expect(byName((await checking).items).claude!.hint).toMatch(/the check was stopped/);
  }, 20_000);
});

describe("CLI health checklist: the worker's own variables stay with the worker", () => {
  /** What the worker's environment holds besides the user's: the API key and the other AGENTED_* settings. */
  const workerVariables = { AGENTED_API_KEY: 'agented-key-secret-0123456789', AGENTED_DATA_DIR: '/somewhere/data', ANTHROPIC_API_KEY: 'sk-ant-test-secret-value-0123456789' };

  /** The names of the variables a real process recorded with `env`, one a line. */
  function recordedNames(file: string): string[] {
    return fs.readFileSync(file, 'utf8').split('\n').map((line) => line.split('=')[0]!).filter(Boolean);
  }

  it('`<cli> --version` runs without any AGENTED_* variable, with the rest of the environment', async () => {
    const env = { ...userHome(null), ...workerVariables };
    const recorded = path.join(env.HOME, 'version-env');
    const executable = path.join(env.HOME, 'claude');
    fs.writeFileSync(executable, `#!/bin/sh\nenv > "${recorded}"\necho "2.0.0 (Claude Code)"\n`, { mode: 0o755 });
    const claude = byName(await detectBackends({ env, searchPath: env.PATH, overrides: { claude: executable } })).claude!;
    expect(claude).toMatchObject({ version: '2.0.0 (Claude Code)', usable: true });
    const names = recordedNames(recorded);
    expect(names).toContain('ANTHROPIC_API_KEY');
    expect(names.filter((name) => name.startsWith('AGENTED_'))).toEqual([]);
  });

  it("the login shell read for its PATH runs the user's profile without any AGENTED_* variable", async () => {
    const home = userHome(null);
    const recorded = path.join(home.HOME, 'shell-env');
    // The user's own profile, run by their real login shell, records what it was given.
    fs.writeFileSync(path.join(home.HOME, '.bash_profile'), `env > "${recorded}"\nexport PATH="$PATH:/opt/from-profile"\n`);
    const resolved = await loginShellPath({ env: { ...home, ...workerVariables } });
    expect(resolved).toMatchObject({ source: 'login-shell' });
    expect(resolved.path).toContain('/opt/from-profile');
    const names = recordedNames(recorded);
    expect(names).toContain('ANTHROPIC_API_KEY');
    expect(names.filter((name) => name.startsWith('AGENTED_'))).toEqual([]);
  });
});
