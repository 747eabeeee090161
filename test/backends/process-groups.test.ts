import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectBackends } from '../../main/backends/detect.js';
import { loginShellPath } from '../../main/backends/login-path.js';
import { currentBoot } from '../../main/executions/boot-identity.js';
import { leaderStart, processRunning, spawnGroup } from '../../main/executions/process-group.js';
import { openDatabase } from '../../main/storage/database.js';
import { ProcessGroupRepository } from '../../main/storage/process-group-repository.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/time.js';

/*
 * The processes the worker starts outside an execution: the login shell read
 * for its PATH and `<cli> --version`. Each runs as a process group that ends
 * whole, and is written down (journal) while it runs: a worker killed with
 * SIGKILL leaves the next one a list of what to end
 * (test/worker/left-process-groups.test.ts).
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A user whose login profile is `profile`; `started()` reads the pid the profile wrote to `$HOME/pid`, if it did. */
function userHome(profile: string): { env: { HOME: string; SHELL: string; PATH: string }; started: () => number | undefined } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  fs.writeFileSync(path.join(temp.dir, '.bash_profile'), profile);
  const pidFile = path.join(temp.dir, 'pid');
  const started = () => (fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '' ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined);
  cleanups.push(() => {
    const pid = started();
    if (pid !== undefined && processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  return { env: { HOME: temp.dir, SHELL: '/bin/bash', PATH: '/usr/bin:/bin' }, started };
}

/** The journal the worker keeps, on a real SQLite file. */
function journal(): ProcessGroupRepository {
  const temp = makeTempDir();
  const db = openDatabase({ file: path.join(temp.dir, 'agented.db') });
  cleanups.push(() => {
    db.close();
    temp.remove();
  });
  return new ProcessGroupRepository(db);
}

describe('the login shell read for its PATH', () => {
  it('a profile that hangs is ended at the timeout with what it started', async () => {
    // A profile waiting on a program it started (an agent, a prompt, a slow network mount).
    const { env, started } = userHome('sleep 60 &\necho $! > "$HOME/pid"\nwait\n');
    const resolved = await loginShellPath({ env, timeoutMs: 1_000 });
    expect(resolved.source).toBe('process');
    const pid = started();
    expect(pid).toBeDefined();
    // Nothing may be left of the shell's run once its result is in.
    await sleep(200);
    expect(processRunning(pid!)).toBe(false);
  });

  it('what a profile leaves running in the background ends with the read, which does not wait for it', async () => {
    // It holds the shell's output open: waiting for that to close would take until the timeout.
    const { env, started } = userHome('sleep 60 &\necho $! > "$HOME/pid"\nexport PATH="$PATH:/opt/from-profile"\n');
    const startedAt = Date.now();
    const resolved = await loginShellPath({ env, timeoutMs: 10_000 });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(resolved).toMatchObject({ source: 'login-shell' });
    expect(resolved.path).toContain('/opt/from-profile');
    await sleep(200);
    expect(processRunning(started()!)).toBe(false);
  });

  it('a profile that writes a lot to stderr is still read', async () => {
    // More than a pipe holds: unread, it would block the shell until the timeout.
    const { env } = userHome('head -c 300000 /dev/zero | tr "\\0" x >&2\nexport PATH="$PATH:/opt/from-profile"\n');
    const resolved = await loginShellPath({ env, timeoutMs: 3_000 });
    expect(resolved).toMatchObject({ source: 'login-shell' });
    expect(resolved.path).toContain('/opt/from-profile');
  });
});

describe('the journal of process groups', () => {
  it('a `--version` run is written down, with this boot, while it runs, and forgotten once its group is gone', async () => {
    const home = makeTempDir();
    cleanups.push(home.remove);
    const groups = journal();
    // A "claude" whose `--version` hangs, waiting on a child in its group.
    const executable = path.join(home.dir, 'claude');
    fs.writeFileSync(executable, `#!/bin/sh\nsleep 60 &\nwait\n`, { mode: 0o755 });
    const env = { HOME: home.dir, PATH: '/usr/bin:/bin' };
    const checking = detectBackends({ env, searchPath: env.PATH, overrides: { claude: executable }, versionTimeoutMs: 1_000, journal: groups });
    const [running] = await waitFor('the run written down', async () => (groups.left().length > 0 ? groups.left() : undefined), 5_000);
    expect(running).toEqual({ pgid: expect.any(Number), boot: currentBoot(), command: executable, leaderStarted: leaderStart(running!.pgid) });
    expect(processRunning(running!.pgid)).toBe(true);
    const claude = (await checking).find((item) => item.name === 'claude')!;
    expect(claude.hint).toMatch(/timed out after 1000 ms/);
    expect(groups.left()).toEqual([]);
  });

  it('the login shell is written down while it runs, and forgotten when the read is done', async () => {
    const groups = journal();
    const { env } = userHome('sleep 1\n');
    const reading = loginShellPath({ env, journal: groups });
    const [running] = await waitFor('the shell written down', async () => (groups.left().length > 0 ? groups.left() : undefined), 5_000);
    expect(running).toMatchObject({ boot: currentBoot(), command: '/bin/bash' });
    expect((await reading).source).toBe('login-shell');
    expect(groups.left()).toEqual([]);
  });
});

describe('a group still running when the database closes (a worker stopping mid-check)', () => {
  it('stops without an error; its row stays for the next worker, which finds the group gone', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const db = openDatabase({ file: path.join(temp.dir, 'agented.db') });
    const group = spawnGroup(['sleep', '60'], { env: process.env, journal: new ProcessGroupRepository(db) });
    db.close();
    // A rejection here is unhandled where the stop is not awaited (the login-shell read), and ends the worker.
    await expect(group.stop({ graceMs: 100 })).resolves.toBeUndefined();
    expect(processRunning(group.pgid)).toBe(false);
  });
});

describe('output held open by a process that left the group', () => {
  // A daemon started without closing its output (setsid: a session, and a group, of its own) is out of reach of a group stop.
  it('`--version` is answered once the CLI has exited, without waiting for it', async () => {
    const home = makeTempDir();
    cleanups.push(home.remove);
    const pidFile = path.join(home.dir, 'pid');
    cleanups.push(() => {
      if (fs.existsSync(pidFile)) process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    });
    const executable = path.join(home.dir, 'claude');
    // It answers once the daemon runs: out of the group, so the group's stop does not end it.
    fs.writeFileSync(
      executable,
      `#!/bin/sh\nsetsid sh -c 'echo $$ > "${pidFile}"; exec sleep 60' &\nwhile [ ! -s "${pidFile}" ]; do sleep 0.05; done\necho "2.0.0 (Claude Code)"\n`,
      { mode: 0o755 },
    );
    const env = { HOME: home.dir, PATH: '/usr/bin:/bin' };
    const startedAt = Date.now();
    const items = await detectBackends({ env, searchPath: env.PATH, overrides: { claude: executable }, versionTimeoutMs: 10_000 });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(items.find((item) => item.name === 'claude')).toMatchObject({ version: '2.0.0 (Claude Code)' });
  });

  it('the login shell is read once it has exited, without waiting for it', async () => {
    const { env, started } = userHome(`setsid sh -c 'echo $$ > "$HOME/pid"; exec sleep 60' &\nwhile [ ! -s "$HOME/pid" ]; do sleep 0.05; done\nexport PATH="$PATH:/opt/from-profile"\n`);
    const startedAt = Date.now();
    const resolved = await loginShellPath({ env, timeoutMs: 10_000 });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(resolved).toMatchObject({ source: 'login-shell' });
    expect(started()).toBeDefined();
  });
});
