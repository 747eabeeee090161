import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, HOLDER_FILE, LOCK_FILE, lockDataDir, type DataDirLock } from '../../main/storage/data-dir-lock.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function dataDir(): string {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return path.join(temp.dir, 'data');
}

function lock(dir: string, pid?: number, parentPid?: number): DataDirLock {
  const taken = lockDataDir(dir, pid, parentPid);
  cleanups.push(() => taken.release());
  return taken;
}

function refusal(dir: string): DataDirInUseError {
  try {
    lock(dir);
  } catch (error) {
    expect(error).toBeInstanceOf(DataDirInUseError);
    return error as DataDirInUseError;
  }
  throw new Error('the data dir was locked twice');
}

/** A process that takes the lock with the built module (`npm run build:main`), says so, and holds it until killed. */
async function holderProcess(dir: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const module = path.join(repoRoot, 'dist', 'main', 'storage', 'data-dir-lock.js');
  const script = `import { lockDataDir } from ${JSON.stringify(module)};
const lock = lockDataDir(${JSON.stringify(dir)});
lock.announce({ url: 'http://127.0.0.1:8787', port: 8787 });
process.stdout.write('locked\\n');
setInterval(() => undefined, 1_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill);
  await within(
    new Promise<void>((resolve) => readline.createInterface({ input: child.stdout! }).on('line', (line) => line === 'locked' && resolve())),
    10_000,
    'the holder taking the lock',
  );
  return { pid: child.pid!, kill };
}

describe('the data dir lock', () => {
  it('refuses a second holder in the same process, naming the first with its supervisor, worker and URL', () => {
    const dir = dataDir();
    const [worker, supervisor] = [process.pid, process.ppid];
    const first = lock(dir, worker, supervisor);
    expect(refusal(dir).message).toBe(`Another Agented (pid ${supervisor}, worker pid ${worker}) is already using the data dir ${dir}; stop it first, or point AGENTED_DATA_DIR (--data-dir) at another folder.`);
    first.announce({ url: 'http://127.0.0.1:8787', port: 8787 });
    const error = refusal(dir);
    expect(error.code).toBe('ERR_DATA_DIR_IN_USE');
    expect(error.holder).toMatchObject({ pid: worker, parentPid: supervisor, url: 'http://127.0.0.1:8787', port: 8787 });
    expect(error.message).toContain(`(pid ${supervisor}, worker pid ${worker}, http://127.0.0.1:8787)`);
  });

  it('is free again once released, and leaves no holder file behind', () => {
    const dir = dataDir();
    const first = lockDataDir(dir);
    expect(fs.existsSync(path.join(dir, HOLDER_FILE))).toBe(true);
    first.release();
    first.release();
    expect(fs.existsSync(path.join(dir, HOLDER_FILE))).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual([LOCK_FILE]);
    lock(dir).release();
  });

  it('dies with its holder: after a SIGKILL the data dir can be taken at once, with nothing cleaned up by hand', async () => {
    const dir = dataDir();
    const holder = await holderProcess(dir);
    const error = refusal(dir);
    // Run by hand, the holder has no supervisor: the pid is its own.
    expect(error.message).toContain(`(pid ${holder.pid}, http://127.0.0.1:8787)`);
    expect(error.message).toContain(dir);

    await holder.kill();
    // Its holder file is still there, naming a dead process; the lock is gone with the process.
    expect(fs.existsSync(path.join(dir, HOLDER_FILE))).toBe(true);
    const next = lock(dir, process.pid, undefined);
    expect(JSON.parse(fs.readFileSync(path.join(dir, HOLDER_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    next.release();
  });

  it('names nobody when the holder file is left by a dead process', async () => {
    const dir = dataDir();
    const holder = await holderProcess(dir);
    const held = fs.readFileSync(path.join(dir, HOLDER_FILE), 'utf8');
    await holder.kill();
    const first = lock(dir);
    // As if the new holder had not written its own yet: the old file names a pid that is gone.
    fs.writeFileSync(path.join(dir, HOLDER_FILE), held);
    expect(refusal(dir).message).toMatch(/^Another Agented is already using the data dir /);
    first.release();
  });
});
