import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendChecklist } from '../../common/backends.js';
import { openDatabase } from '../../main/storage/database.js';
import { migrations } from '../../main/storage/migrations/index.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { untilTrue, within } from '../helpers/time.js';

/* `agented doctor` reads the stored settings and changes nothing: not the data folder, not the database. */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempHome(): { home: string; dataDir: string; env: Record<string, string> } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const dataDir = path.join(temp.dir, 'data');
  // Node's folder only: no agent CLI is found (none is installed there), so the checklist is the same everywhere.
  return { home: temp.dir, dataDir, env: { HOME: temp.dir, SHELL: '/bin/sh', PATH: path.dirname(process.execPath), AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: path.join(temp.dir, 'logs') } };
}

async function doctor(env: Record<string, string>, args: string[] = []) {
  const run = runCli({ args: ['doctor', ...args], env });
  cleanups.push(() => run.killGroup('SIGKILL'));
  const code = await within(run.exited, 60_000, 'agented doctor exiting');
  return { code, stdout: run.stdout, stderr: run.stderr.filter((line) => line.trim() !== '') };
}

const userVersion = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

describe('agented doctor', () => {
  it('a database from a newer Agented: the reason on one line, exit 4, no stack trace', async () => {
    const { dataDir, env } = tempHome();
    fs.mkdirSync(dataDir);
    const file = path.join(dataDir, 'agented.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();

    const { code, stdout, stderr } = await doctor(env);

    expect(code).toBe(4);
    expect(stderr).toEqual([
      `agented: The database ${file} has schema version 999, but this Agented knows versions up to ${migrations.at(-1)?.version}. It was written by a newer Agented: run that version, or point AGENTED_DATA_DIR at another folder.`,
    ]);
    expect(stdout).toEqual([]);
    expect(userVersion(file)).toBe(999);
  });

  it('a file that is no database: the setting and the reason on one line, exit 1, no stack trace', async () => {
    const { dataDir, env } = tempHome();
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'agented.db'), 'not a database\n');

    const { code, stdout, stderr } = await doctor(env);

    expect(code).toBe(1);
    expect(stderr).toEqual([`agented: AGENTED_DATA_DIR=${JSON.stringify(dataDir)} cannot be used: SQLite: file is not a database`]);
    expect(stdout).toEqual([]);
  });

  it('without a database: checks the CLIs and makes no data folder', async () => {
    const { dataDir, env } = tempHome();

    const { code, stdout, stderr } = await doctor(env);

    expect(code).toBe(1);
    expect(stdout.join('\n')).toMatch(/No agent CLI is usable/);
    expect(stderr).toEqual([]);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('an older database: its stored CLI path is used, and it is not migrated', async () => {
    const { home, dataDir, env } = tempHome();
    const file = path.join(dataDir, 'agented.db');
    // Schema version 1 (settings only), as an early Agented left it, with a stored path to claude.
    const claude = path.join(home, 'claude');
    fs.writeFileSync(claude, '#!/bin/sh\necho "9.9.9 (Claude Code)"\n', { mode: 0o755 });
    const db = openDatabase({ file, migrations: migrations.slice(0, 1) });
    new SettingsRepository(db).set('claudePath', claude);
    db.close();
    const before = fs.readFileSync(file);

    const { stdout, stderr } = await doctor(env, ['--json']);

    expect(stderr).toEqual([]);
    const claudeItem = (JSON.parse(stdout.join('\n')) as BackendChecklist).items.find((item) => item.name === 'claude');
    expect(claudeItem).toMatchObject({ installed: true, path: claude });
    // Not a byte written (a read-only connection may leave SQLite's empty -wal and -shm beside it).
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    expect(userVersion(file)).toBe(1);
  });

  it('interrupted (Ctrl-C) while a --version hangs: that CLI and what it started are ended, exit 130', async () => {
    const { home, env } = tempHome();
    const pidFile = path.join(home, 'version.pid');
    const cli = path.join(home, 'claude');
    // A `--version` that never answers, ignores SIGINT and SIGTERM, and has a child: only its whole group stopped ends it.
    fs.writeFileSync(cli, `#!/bin/sh\ntrap '' INT TERM\necho $$ > "${pidFile}"\nsleep 600 &\nwait\n`, { mode: 0o755 });
    const run = runCli({ args: ['doctor'], env: { ...env, AGENTED_CLAUDE_PATH: cli, AGENTED_VERSION_TIMEOUT_MS: '120000' } });
    cleanups.push(() => run.killGroup('SIGKILL'));
    await untilTrue(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== '', 'the --version run starting');
    const group = Number(fs.readFileSync(pidFile, 'utf8'));
    cleanups.push(() => groupAlive(group) && process.kill(-group, 'SIGKILL'));
    expect(groupAlive(group)).toBe(true);

    // As the terminal does: the signal goes to the command's process group, not to the --version's own.
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await within(run.exited, 20_000, 'agented doctor exiting')).toBe(130);
    await untilTrue(() => !groupAlive(group), 'the --version group ending', 10_000);
  }, 60_000);
});

/** Whether any process of the group is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
