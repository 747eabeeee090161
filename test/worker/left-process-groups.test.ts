import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { currentBoot } from '../../main/executions/boot-identity.js';
import { groupAlive, killGroup, leaderStart, processRunning } from '../../main/executions/process-group.js';
import { openDatabase } from '../../main/storage/database.js';
import { ProcessGroupRepository } from '../../main/storage/process-group-repository.js';
import { keyedApi } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/time.js';

/*
 * What the worker starts outside an execution — `<cli> --version` for the
 * CLI health checklist — must not outlive a worker killed with SIGKILL: the
 * next worker on the same data folder ends it. Real `agented serve` trees
 * (the built CLI: `npm run build:main` first).
 */

const KEY = 'left-groups-key-0123456789abcdef';
const api = keyedApi(KEY);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A "claude" whose `--version` never answers, ignores SIGINT and SIGTERM and
 * starts a child and a grandchild; each run appends a line with its three pids.
 */
function hangingCli(dir: string): { executable: string; runs: () => number[][] } {
  const fixture = path.join(import.meta.dirname, '..', 'fixtures', 'stubborn-tree.mjs');
  const pidsFile = path.join(dir, 'pids');
  const executable = path.join(dir, 'claude');
  fs.writeFileSync(executable, `#!/bin/sh\nexec "${process.execPath}" "${fixture}" >> "${pidsFile}"\n`, { mode: 0o755 });
  const runs = () => {
    const text = fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8') : '';
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { pids: number[] }).pids);
  };
  cleanups.push(() => {
    for (const pid of runs().flat()) if (processRunning(pid)) process.kill(pid, 'SIGKILL');
  });
  return { executable, runs };
}

describe('process groups left by a killed worker', () => {
  it('a `--version` still running when the worker is SIGKILLed is ended, tree and all, by the next worker', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const cli = hangingCli(temp.dir);
    const server = runCli({
      env: {
        HOME: temp.dir,
        AGENTED_API_KEY: KEY,
        AGENTED_DATA_DIR: path.join(temp.dir, 'data'),
        AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
        AGENTED_CLAUDE_PATH: cli.executable,
        AGENTED_VERSION_TIMEOUT_MS: '120000',
        // The tree ignores SIGINT and SIGTERM: only the SIGKILL after two grace periods ends it.
        AGENTED_STOP_GRACE_MS: '500',
      },
    });
    // Stopped, not killed: the new worker's own `--version` ends with it.
    cleanups.push(async () => {
      await server.stop('SIGINT');
      await server.killGroup('SIGKILL');
    });
    const { url } = await server.ready;
    const pids = await waitFor('the `--version` tree running', async () => cli.runs()[0], 15_000);
    expect(pids).toHaveLength(3);

    const workerPid = async () => (await api<HealthReady>(url, 'GET', '/health/ready')).body.pid;
    const oldWorker = await workerPid();
    process.kill(oldWorker, 'SIGKILL');
    // The supervisor starts a new worker on the same data folder; it ends what is left before it listens.
    await waitFor('a new worker', async () => ((await workerPid()) !== oldWorker ? true : undefined), 30_000);
    await waitFor('the old `--version` tree gone', async () => (pids.some(processRunning) ? undefined : true), 5_000).catch(() => undefined);
    expect(pids.filter(processRunning)).toEqual([]);
  }, 90_000);

  /**
   * A data folder whose journal lists a running, detached group recorded in
   * `boot`, as a worker killed while it ran would have left it; the group is
   * a real `sleep`, standing in for whoever holds that number now.
   */
  function leftGroup(boot: string, leaderStarted: (pgid: number) => number | null = leaderStart): { dataDir: string; pgid: number } {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const stranger = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    stranger.unref();
    const pgid = stranger.pid!;
    cleanups.push(() => killGroup(pgid, { graceMs: 100 }));
    const dataDir = path.join(temp.dir, 'data');
    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    new ProcessGroupRepository(db).opened({ pgid, boot, command: '/usr/bin/claude', leaderStarted: leaderStarted(pgid) });
    db.close();
    return { dataDir, pgid };
  }

  /** Starts a worker on the data folder and closes it; resolves with what its journal lists afterwards. */
  async function startAndClose(dataDir: string): Promise<unknown[]> {
    const server = await startInProcess({ AGENTED_DATA_DIR: dataDir, AGENTED_STOP_GRACE_MS: '200' });
    await server.close();
    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    try {
      return new ProcessGroupRepository(db).left();
    } finally {
      db.close();
    }
  }

  it('a group written down in this boot is ended at start, and forgotten', async () => {
    const { dataDir, pgid } = leftGroup(currentBoot());
    expect(await startAndClose(dataDir)).toEqual([]);
    expect(groupAlive(pgid)).toBe(false);
  });

  it('a group written down in an earlier boot is forgotten without being signalled: its number may be anybody’s now', async () => {
    const { dataDir, pgid } = leftGroup('boot_id:00000000-0000-4000-8000-000000000000');
    expect(await startAndClose(dataDir)).toEqual([]);
    // The grace periods have passed: a signalled group would be gone by now.
    await sleep(600);
    expect(groupAlive(pgid)).toBe(true);
  });

  it('a group whose number now leads another program (its leader started later) is forgotten without being signalled', async () => {
    const { dataDir, pgid } = leftGroup(currentBoot(), (stranger) => leaderStart(stranger)! - 1);
    expect(await startAndClose(dataDir)).toEqual([]);
    await sleep(600);
    expect(groupAlive(pgid)).toBe(true);
  });
});
