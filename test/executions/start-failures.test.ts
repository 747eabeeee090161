import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { TriggerCreate } from '../../common/triggers.js';
import { groupAlive } from '../../main/executions/process-group.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The real worker starting a CLI that cannot start, or ends at once: each
 * execution ends `failed` with a reason that says what is wrong and what to
 * do, and leaves no process behind. The CLI is a script at the configured
 * path (AGENTED_CLAUDE_PATH), rewritten by each test.
 */
describe('starting the CLI: what cannot start, or ends at once', () => {
  let engine: Engine;
  const temp = makeTempDir();
  const cli = path.join(temp.dir, 'claude');
  const writeCli = (text: string) => fs.writeFileSync(cli, text, { mode: 0o755 });
  beforeAll(async () => {
    writeCli('#!/bin/sh\nexit 0\n');
    engine = await startEngine({ AGENTED_CLAUDE_PATH: cli });
  });
  afterAll(async () => {
    await engine.close();
    temp.remove();
  });

  async function runOnce(fields: Partial<TriggerCreate> = {}, params: Record<string, unknown> = {}): Promise<Execution> {
    const trigger = await engine.createTrigger({ promptTemplate: 'hello', ...fields });
    const id = await engine.run(trigger, params);
    return engine.waitForState(id, ['succeeded', 'failed']);
  }

  it('a prompt longer than one command-line argument can carry fails with its size and what to shorten, and so does its replay', async () => {
    writeCli('#!/bin/sh\necho \'{"type":"result","subtype":"success","is_error":false,"result":"ok"}\'\n');
    // 70 values of 2,000 characters: about 144 KB, past Linux's 128 KiB for one argument (MAX_ARG_STRLEN).
    const template = Array.from({ length: 70 }, () => '{{params.s}}').join('\n');
    const done = await runOnce({ promptTemplate: template, params: [{ name: 's', type: 'string', required: true }] }, { s: 'x'.repeat(2000) });
    const bytes = Buffer.byteLength(done.prompt);
    expect(bytes).toBeGreaterThan(128 * 1024);
    expect(done.state).toBe('failed');
    expect(done.reason).toContain(`the prompt is ${bytes} bytes`);
    expect(done.reason).toMatch(/more than one command-line argument can carry/);
    expect(done.reason).toMatch(/AGENTED_PROMPT_VALUE_MAX/);
    expect(done.reason).not.toMatch(/E2BIG$/);
    expect(done.attempts).toMatchObject([{ outcome: 'failed', reason: done.reason }]);

    const replay = await engine.api<{ executionId: string }>('POST', `/api/executions/${done.id}/replay`);
    expect(replay.status).toBe(202);
    const replayed = await engine.waitForState(replay.body.executionId, ['succeeded', 'failed']);
    expect(replayed).toMatchObject({ state: 'failed', reason: done.reason });
  });

  it('a script whose interpreter is missing fails naming the interpreter, not "ENOENT" for a file that is there', async () => {
    writeCli('#!/nonexistent/interpreter\necho never\n');
    const done = await runOnce();
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('/nonexistent/interpreter');
    expect(done.reason).toMatch(/interpreter/);
    expect(done.reason).not.toMatch(/ENOENT/);
  });

  it('a working directory that is a file fails saying so', async () => {
    writeCli('#!/bin/sh\nexit 0\n');
    const file = path.join(temp.dir, 'not-a-folder');
    fs.writeFileSync(file, 'x');
    const done = await runOnce({ workingDirectory: file });
    expect(done).toMatchObject({ state: 'failed', reason: `the working directory ${file} is not a directory` });
  });

  it('a CLI that exits 0 without printing anything fails: nothing says it did the work', async () => {
    writeCli('#!/bin/sh\nexit 0\n');
    const done = await runOnce();
    expect(done.state).toBe('failed');
    expect(done.exitCode).toBe(0);
    expect(done.reason).toMatch(/exited 0 without any output/);
    expect(groupAlive(done.processGroup!)).toBe(false);
  });

  it('a CLI killed by a signal of its own (a crash) fails naming the signal, and leaves nothing running', async () => {
    writeCli('#!/bin/sh\n(sleep 60; echo late) &\nkill -SEGV $$\n');
    const done = await runOnce();
    expect(done).toMatchObject({ state: 'failed', exitCode: null, reason: 'the CLI was ended by SIGSEGV' });
    expect(groupAlive(done.processGroup!)).toBe(false);
  });

  it('a configured path that is a directory, or not executable, fails with the setting to fix', async () => {
    writeCli('#!/bin/sh\nexit 0\n');
    fs.chmodSync(cli, 0o644);
    const notExecutable = await runOnce();
    expect(notExecutable).toMatchObject({ state: 'failed', reason: `the configured path ${cli} is not an executable file; fix AGENTED_CLAUDE_PATH or remove it` });
    fs.rmSync(cli);
    fs.mkdirSync(cli);
    const directory = await runOnce();
    expect(directory).toMatchObject({ state: 'failed', reason: notExecutable.reason });
    fs.rmdirSync(cli);
  });
});

describe('starting the CLI: an environment too large to start a program with', () => {
  let engine: Engine;
  beforeAll(async () => {
    // One variable past Linux's 128 KiB for one string of a program's environment.
    engine = await startEngine({ HUGE_VARIABLE: 'v'.repeat(140_000) });
  });
  afterAll(async () => {
    await engine.close();
  });

  it('fails naming the variable, not as an internal error', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'hello' });
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(done.state).toBe('failed');
    expect(done.reason).toMatch(/^could not start \S+\/claude: the environment variable HUGE_VARIABLE is 140014 bytes/);
    expect(done.reason).not.toMatch(/internal error/);
  });
});
