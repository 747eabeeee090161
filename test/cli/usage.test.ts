import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

/* What `agented` answers to --help, --version and what it does not know: the real built command. */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function agented(args: string[], options: { env?: Record<string, string>; wrap?: (argv: string[]) => string[] } = {}) {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const env = { HOME: temp.dir, AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), ...options.env };
  const run = runCli({ args, env, wrap: options.wrap });
  cleanups.push(() => run.killGroup());
  const code = await within(run.exited, 15_000, `agented ${args.join(' ')} exiting`);
  return { code, stdout: run.stdout, stderr: run.stderr };
}

const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('agented usage', () => {
  it('--version prints the version alone on stdout and exits 0', async () => {
    expect(await agented(['--version'])).toEqual({ code: 0, stdout: [version], stderr: [] });
  });

  it.each([['serve'], ['doctor'], ['key']])('`%s --help` prints the usage on stdout and exits 0, starting nothing', async (command) => {
    const { code, stdout, stderr } = await agented([command, '--help']);
    expect(code).toBe(0);
    expect(stdout[0]).toBe('Usage:');
    expect(stderr).toEqual([]);
  });

  it.each([
    [['bogus'], 'agented: unknown command "bogus"'],
    [['key', 'bogus'], 'agented: unknown command "key bogus"'],
    [['key', 'show', 'extra'], 'agented: unknown command "key show extra"'],
    [['bogus', '--help'], 'agented: unknown command "bogus --help"'],
  ])('%o says which command it does not know, then the usage, on stderr; exit 2', async (args, line) => {
    const { code, stdout, stderr } = await agented(args);
    expect(code).toBe(2);
    expect(stdout).toEqual([]);
    expect(stderr[0]).toBe(line);
    expect(stderr[1]).toBe('Usage:');
  });

  // `head -c 0` has left before the command writes: its stdout is a pipe without a reader (EPIPE). The exit code is the command's.
  const readerGone = (argv: string[]) => ['bash', '-c', '"$@" | head -c 0; exit "${PIPESTATUS[0]}"', 'agented-test', ...argv];

  it.each([
    [['--help'], 0, []],
    [['doctor', '--json'], 1, []],
    [['key', 'show'], 0, ['(from AGENTED_API_KEY; the keychain is not used)']],
  ])('%o with a reader that left before the output: no stack trace, the command’s own exit code', async (args, code, stderr) => {
    const result = await agented(args, { env: { AGENTED_API_KEY: 'usage-test-key-0123456789abcdef' }, wrap: readerGone });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code, stderr });
  });

  // /dev/full refuses every write with ENOSPC, as a file on a full disk does: unlike a reader that left, the output is lost.
  const fullDisk = (argv: string[]) => ['bash', '-c', '"$@" > /dev/full', 'agented-test', ...argv];

  it.each([[['key', 'show']], [['--version']]])('%o whose output cannot be written (a full disk) fails, saying why', async (args) => {
    const result = await agented(args, { env: { AGENTED_API_KEY: 'usage-test-key-0123456789abcdef' }, wrap: fullDisk });
    expect(result.code).toBe(1);
    expect(result.stderr.at(-1)).toMatch(/^agented: the output could not be written: ENOSPC/);
  });
});
