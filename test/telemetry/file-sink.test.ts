import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogFileSink } from '../../main/telemetry/file-sink.js';
import { Logger } from '../../main/telemetry/logger.js';
import { request } from '../helpers/http.js';
import { repoRoot, runCli } from '../helpers/serve.js';
import { fillDisk, smallDisk } from '../helpers/small-disk.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Another process logging to the same file with the built sink (`npm run build:main`), as a second
 * instance does (the log folder is shared unless set): it logs a line when started, then `count`
 * more each time it is told to, and answers when they are written.
 */
async function otherWriter(dir: string, maxSize: number): Promise<{ write(count: number): Promise<void> }> {
  const script = `import readline from 'node:readline';
import { LogFileSink } from ${JSON.stringify(path.join(repoRoot, 'dist', 'main', 'telemetry', 'file-sink.js'))};
import { Logger } from ${JSON.stringify(path.join(repoRoot, 'dist', 'main', 'telemetry', 'logger.js'))};
const sink = new LogFileSink(${JSON.stringify(dir)}, 'worker', ${maxSize});
const logger = Logger.create({ sink, bindings: { writer: 'other' } });
let index = 0;
const write = (count) => {
  for (let end = index + count; index < end; index += 1) {
    logger.info('line', { index, padding: 'x'.repeat(60) });
    sink.flush();
  }
  process.stdout.write('written\\n');
};
write(1);
readline.createInterface({ input: process.stdin }).on('line', (line) => write(Number(line)));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ended (not only signalled) before its folder is removed: it may be in the middle of a write.
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const written = () => within(new Promise<void>((resolve) => lines.once('line', () => resolve())), 10_000, 'the other writer');
  await written();
  return {
    write: (count) => {
      child.stdin!.write(`${count}\n`);
      return written();
    },
  };
}

/** The lines of a log file that are not a JSON object (a half-written line, a note such as "[log cropped]"). */
function notJson(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter((line) => {
    if (line === '') return false;
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });
}

describe('log files', () => {
  it('are JSON lines, private to the user, and rotate past the size limit', async () => {
    const temp = makeTempDir();
    try {
      const sink = new LogFileSink(`${temp.dir}/logs`, 'worker', 4096);
      const logger = Logger.create({ sink, bindings: { request_id: 'r-1' } });
      // Lines arrive over many turns of the event loop, as requests do.
      for (let index = 0; index < 100; index += 1) {
        logger.info('line', { index, padding: 'x'.repeat(60) });
        await new Promise((resolve) => setImmediate(resolve));
      }
      sink.dispose();

      const current = fs.readFileSync(sink.file, 'utf8').trim().split('\n');
      const archived = fs.readFileSync(`${temp.dir}/logs/worker.old.log`, 'utf8').trim().split('\n');
      for (const line of [...current, ...archived]) {
        expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'line', request_id: 'r-1' });
      }
      expect(fs.statSync(sink.file).size).toBeLessThanOrEqual(4096 + 200);
      expect(JSON.parse(current.at(-1)!).index).toBe(99);
      expect(fs.statSync(sink.file).mode & 0o077).toBe(0);
    } finally {
      temp.remove();
    }
  });

  it('writes each line byte for byte, whatever it holds (format specifiers, style and template marks, escapes, non-ASCII)', () => {
    const temp = makeTempDir();
    try {
      const sink = new LogFileSink(`${temp.dir}/logs`, 'worker');
      const lines = [
        JSON.stringify({ msg: 'format marks', text: '100%% done %s %d %o %j %c {text} {level} {y}-{m}' }),
        JSON.stringify({ msg: 'escapes', text: '\u001b[31mred\u001b[0m "quoted" back\\slash' }),
        JSON.stringify({ msg: 'unicode', text: 'Grüße — 日本語 🚀' }),
      ];
      for (const line of lines) sink.write('info', line);
      sink.dispose();
      expect(fs.readFileSync(sink.file, 'utf8')).toBe(`${lines.join('\n')}\n`);
    } finally {
      temp.remove();
    }
  });

  it('lines of one burst are all written, and nothing pending is lost on dispose', () => {
    const temp = makeTempDir();
    try {
      const sink = new LogFileSink(`${temp.dir}/logs`, 'worker');
      const logger = Logger.create({ sink });
      for (let index = 0; index < 5000; index += 1) logger.info('burst', { index });
      sink.dispose();
      const lines = fs.readFileSync(sink.file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(5000);
      expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual([...Array(5000).keys()]);
    } finally {
      temp.remove();
    }
  });

  it('are written by `agented serve` started from any directory (one with no package.json above it)', async () => {
    const temp = makeTempDir();
    const logDir = `${temp.dir}/logs`;
    const key = 'file-sink-test-key-0123456789abcdef';
    // The temp folder has no package.json, nor do its parents (electron-log, which wrote these files until 2026-12, found no app name there and wrote nothing).
    const cli = runCli({ cwd: temp.dir, env: { HOME: temp.dir, AGENTED_API_KEY: key, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: logDir } });
    try {
      const { url } = await cli.ready;
      expect((await request(url, { path: '/health/ready', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      expect(await cli.stop('SIGTERM')).toBe(0);
    }
    try {
      expect(listFiles(logDir).map((file) => file.slice(logDir.length + 1)).sort()).toEqual(['supervisor.log', 'worker.log']);
      const requests = fs.readFileSync(`${logDir}/worker.log`, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"'));
      expect(requests.map((line) => JSON.parse(line) as { path: string })).toContainEqual(expect.objectContaining({ path: '/health/ready', status: 200 }));
    } finally {
      temp.remove();
    }
  });

  it('keep whole JSON lines when the disk fills in the middle of a write, and take new lines again once there is space', (context) => {
    const disk = smallDisk((step) => cleanups.push(step));
    if (disk === undefined) return context.skip('mounting a tmpfs needs root');
    const sink = new LogFileSink(`${disk}/logs`, 'worker');
    cleanups.push(() => sink.dispose());
    const logger = Logger.create({ sink });
    logger.info('before');
    sink.flush();
    const filler = fillDisk(disk);
    // Room for part of the next burst only: the append stops in the middle of a line.
    fs.truncateSync(filler, fs.statSync(filler).size - 10_000);
    const said: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => said.push(String(text)) > 0);
    for (let index = 0; index < 1000; index += 1) logger.info('while full', { index, padding: 'x'.repeat(50) });
    sink.flush();
    logger.info('still full', { padding: 'x'.repeat(20_000) });
    sink.flush();
    stderr.mockRestore();
    // Why lines are dropped is said once, not for every append that fails.
    expect(said).toEqual([expect.stringMatching(new RegExp(`could not write to ${sink.file} \\(ENOSPC`))]);
    fs.rmSync(filler);
    logger.info('after');
    sink.flush();

    expect(notJson(sink.file)).toEqual([]);
    const messages = fs.readFileSync(sink.file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.at(0)).toBe('before');
    expect(messages.at(-1)).toBe('after');
  });

  it('make the log folder again when it was removed while the process runs', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const sink = new LogFileSink(`${temp.dir}/logs`, 'worker');
    cleanups.push(() => sink.dispose());
    const logger = Logger.create({ sink });
    logger.info('before');
    sink.flush();
    // A clean-up of old logs (or the user) deletes the folder.
    fs.rmSync(`${temp.dir}/logs`, { recursive: true });
    logger.info('after');
    sink.flush();

    expect(fs.readFileSync(sink.file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['after']);
    expect(fs.statSync(sink.file).mode & 0o077).toBe(0);
  });

  it('say nothing on stderr when the folder was removed and made again: no line was dropped', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const sink = new LogFileSink(`${temp.dir}/logs`, 'worker');
    cleanups.push(() => sink.dispose());
    const logger = Logger.create({ sink });
    fs.rmSync(`${temp.dir}/logs`, { recursive: true });
    const said: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => said.push(String(text)) > 0);
    logger.info('after');
    sink.flush();
    stderr.mockRestore();

    expect(said).toEqual([]);
    expect(fs.readFileSync(sink.file, 'utf8')).toContain('"after"');
  });

  it('a log file that cannot be written (a folder in its place) does not stop the process from starting; lines go to it once it can be', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const dir = `${temp.dir}/logs`;
    // Not a permission: the tests may run as root, which may write any file.
    fs.mkdirSync(`${dir}/worker.log`, { recursive: true });
    const said: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((text) => said.push(String(text)) > 0);
    let sink: LogFileSink;
    try {
      sink = new LogFileSink(dir, 'worker');
      cleanups.push(() => sink.dispose());
      const logger = Logger.create({ sink });
      logger.info('dropped');
      sink.flush();
      logger.info('dropped too');
      sink.flush();
    } finally {
      stderr.mockRestore();
    }
    expect(said).toEqual([expect.stringMatching(/could not write to .*worker\.log \(EISDIR/)]);

    fs.rmdirSync(`${dir}/worker.log`);
    Logger.create({ sink }).info('written');
    sink.flush();
    expect(fs.readFileSync(sink.file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['written']);
  });

  it('stay JSON lines within the size limit when rotation cannot rename the file (a read-only folder)', (context) => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const dir = `${temp.dir}/logs`;
    const sink = new LogFileSink(dir, 'worker', 4096);
    cleanups.push(() => sink.dispose());
    const logger = Logger.create({ sink });
    logger.info('first');
    sink.flush();
    // The immutable flag makes the folder read-only even for root, while the file in it stays writable.
    try {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
    } catch {
      return context.skip('chattr is not supported on this file system');
    }
    cleanups.push(() => execFileSync('chattr', ['-i', dir]));
    for (let index = 0; index < 200; index += 1) {
      logger.info('line', { index, padding: 'x'.repeat(60) });
      sink.flush();
    }

    expect(fs.readdirSync(dir)).toEqual(['worker.log']);
    expect(notJson(sink.file)).toEqual([]);
    expect(fs.statSync(sink.file).size).toBeLessThanOrEqual(4096 + 200);
    expect((JSON.parse(fs.readFileSync(sink.file, 'utf8').trim().split('\n').at(-1)!) as { index: number }).index).toBe(199);
  });

  it('rotate only past the size limit when another process writes the same file (its old lines are not lost)', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const dir = `${temp.dir}/logs`;
    const maxSize = 16 * 1024;
    const sink = new LogFileSink(dir, 'worker', maxSize);
    cleanups.push(() => sink.dispose());
    const logger = Logger.create({ sink, bindings: { writer: 'this' } });
    let index = 0;
    const writeUntil = (done: () => boolean) => {
      while (!done()) {
        logger.info('line', { index: index++, padding: 'x'.repeat(60) });
        sink.flush();
      }
    };
    writeUntil(() => fs.statSync(sink.file).size > 10 * 1024);
    // The other process sees the file at 10 KB, and counts from there what it adds itself.
    const other = await otherWriter(dir, maxSize);
    writeUntil(() => fs.existsSync(`${dir}/worker.old.log`));
    const rotated = fs.readFileSync(`${dir}/worker.old.log`, 'utf8');
    expect(rotated.length).toBeGreaterThan(maxSize);
    // 60 lines of its own take the other's count past the limit, though the file is far below it.
    await other.write(60);

    expect(fs.statSync(sink.file).size).toBeLessThan(maxSize);
    expect(fs.readFileSync(`${dir}/worker.old.log`, 'utf8')).toBe(rotated);
  });
});
