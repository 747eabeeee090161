import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../common/budgets.js';
import { startEngine } from '../helpers/engine.js';
import { workerLogRecords } from '../helpers/in-process.js';
import { repoRoot, scriptedAgent } from '../helpers/serve.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { untilTrue } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Another process (a database browser, a backup tool) holding the database's write lock until `release()`:
 * every write of the worker meanwhile waits its busy timeout (5 s), then fails with SQLITE_BUSY. Resolves
 * once the lock is held.
 */
async function holdWriteLock(file: string): Promise<{ release(): Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    console.log('locked');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const holder = spawn(process.execPath, ['-e', script, file], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  cleanups.push(() => {
    holder.kill('SIGKILL');
    return exited;
  });
  for await (const line of readline.createInterface({ input: holder.stdout })) {
    if (line === 'locked') {
      return {
        release: () => {
          holder.stdin.end('release\n');
          return exited;
        },
      };
    }
  }
  throw new Error('the lock holder ended without taking the lock');
}

describe('the database refusing writes while an execution runs', () => {
  it("the CLI's usage and the end meet a lock held past the busy timeout: the worker goes on, and once the lock is gone the execution ends with its own outcome and usage, closed by one line", async () => {
    const temp = makeTempDir('agented-storage-refused-');
    cleanups.push(temp.remove);
    const engine = await startEngine({ AGENTED_CLAUDE_PATH: scriptedAgent(temp.dir) });
    cleanups.push(() => engine.close());
    const trigger = await engine.createTrigger({ promptTemplate: 'WORK 4000' });
    const id = await engine.run(trigger);
    await engine.waitForState(id, ['running']);

    // The CLI reports and exits 4 s after it started: the lock is taken before (a new node process takes well under that).
    const lock = await holdWriteLock(path.join(engine.server.dataDir, 'agented.db'));
    expect((await engine.execution(id)).state).toBe('running');
    // Held until the end itself has been refused (the CLI's usage and its attempts were refused before it).
    const said = () => workerLogRecords(engine.server).map((record) => record.msg);
    await untilTrue(() => said().includes('the end could not be stored yet; trying again'), 'the end refused', 90_000);
    await lock.release();
    const done = await engine.waitForState(id, ['succeeded', 'failed']);

    expect(done).toMatchObject({ state: 'succeeded', reason: null, usage: { inputTokens: 1200, outputTokens: 340, costUsd: 0.0125 } });
    expect(said()).toContain('the usage could not be stored; the next update or the end stores it');
    expect(said()).toContain('a record of the run could not be stored; the end stores it');
    expect(said()).not.toContain('execution run failed unexpectedly');

    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    cleanups.push(() => stream.close());
    await stream.ended;
    const lines = logLines(stream.events);
    expect(lines.filter((line) => line.stream === 'system' && /^(succeeded|failed)/.test(line.text)).map((line) => line.text)).toEqual(['succeeded (exit code 0)']);
    expect(lines.at(-1)!.text).toBe('succeeded (exit code 0)');
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ state: 'succeeded' });

    // The attempt's spend (what account budgets and the usage by backend and account count) is its own, once.
    const report = (await engine.api<UsageReport>('GET', '/api/usage?period=day')).body;
    expect(report.byBackend).toEqual([expect.objectContaining({ key: 'claude', inputTokens: 1200, outputTokens: 340, costUsd: 0.0125, executions: 1 })]);
    expect(report.total).toMatchObject({ inputTokens: 1200, outputTokens: 340, costUsd: 0.0125, executions: 1 });

    // The same worker runs the next execution.
    const next = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(next.state).toBe('succeeded');
  }, 120_000);
});
