import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TriggerCreate } from '../../common/triggers.js';
import { groupAlive } from '../../main/executions/process-group.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';
import { repoRoot } from '../helpers/serve.js';

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'scripted-agent.mjs');

/**
 * Executions that arrive while the worker stops (policy `finish`): the HTTP
 * server still accepts them and they wait in SQLite for the next start. Their
 * concurrency key's strategy applies as they arrive all the same, so a restart
 * does not run what a running execution of the key should have dropped. The
 * CLI is test/fixtures/scripted-agent.mjs (`WORK <ms>`), on real processes.
 */
describe('execution queue: arrivals while the worker stops', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const temp = () => {
    const made = makeTempDir('agented-queue-stop-');
    cleanups.push(() => made.remove());
    return made.dir;
  };
  async function start(dir: string): Promise<Engine> {
    const agent = path.join(dir, 'scripted-agent');
    fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${FIXTURE}" "$@"\n`, { mode: 0o755 });
    const engine = await startEngine({ AGENTED_CLAUDE_PATH: agent, AGENTED_DATA_DIR: path.join(dir, 'data'), AGENTED_STOP_POLICY: 'finish', AGENTED_STOP_FINISH_TIMEOUT_S: '30' });
    cleanups.push(() => engine.close());
    return engine;
  }
  const keyed = (strategy: 'drop-newest' | 'cancel-in-progress', promptTemplate: string): Partial<TriggerCreate> => ({
    promptTemplate,
    maxConcurrent: 2,
    concurrency: { key: '{{params.pr}}', strategy },
    params: [{ name: 'pr', type: 'number', required: true }],
  });

  it('strategy "drop-newest": a run of a running key that arrives during the stop is dropped, and the next start does not run it', async () => {
    const dir = temp();
    const engine = await start(dir);
    const trigger = await engine.createTrigger(keyed('drop-newest', 'WORK 1500'));
    const first = await engine.run(trigger, { pr: 7 });
    await engine.waitForState(first, ['running']);
    const stopped = engine.server.worker.stop();
    const second = await engine.run(trigger, { pr: 7 });
    await within(stopped, 20_000, 'the stop waiting for the running execution');

    const restarted = await start(dir);
    expect(await restarted.execution(first)).toMatchObject({ state: 'succeeded' });
    const dropped = await restarted.waitForState(second, ['skipped', 'running', 'succeeded']);
    expect(dropped).toMatchObject({ state: 'skipped', reason: 'dropped: an execution with the same concurrency key "7" was already running or queued', startedAt: null });
  });

  it('strategy "cancel-in-progress": a run of a running key that arrives during the stop cancels the running one (whole group) and waits for the next start', async () => {
    const dir = temp();
    const engine = await start(dir);
    const trigger = await engine.createTrigger(keyed('cancel-in-progress', 'WORK 60000'));
    const first = await engine.run(trigger, { pr: 7 });
    const running = await engine.waitForState(first, ['running']);
    const stopped = engine.server.worker.stop();
    const second = await engine.run(trigger, { pr: 7 });
    // Well within the finish timeout of 30 s: the superseded one does not run on until then.
    await within(stopped, 10_000, 'the stop, once the superseded execution has ended');
    expect(groupAlive(running.processGroup!)).toBe(false);

    const restarted = await start(dir);
    expect(await restarted.execution(first)).toMatchObject({ state: 'cancelled', reason: `superseded by ${second} (cancel-in-progress)` });
    await restarted.waitForState(second, ['running']);
    await restarted.api('POST', `/api/executions/${second}/cancel`);
  });

  it('nothing starts during the stop: an unkeyed run that arrives then waits for the next start', async () => {
    const dir = temp();
    const engine = await start(dir);
    const trigger = await engine.createTrigger({ promptTemplate: 'WORK 1000', maxConcurrent: 2 });
    const first = await engine.run(trigger);
    await engine.waitForState(first, ['running']);
    const stopped = engine.server.worker.stop();
    const second = await engine.run(trigger);
    await sleep(300);
    expect((await engine.execution(second)).state).toBe('queued');
    await within(stopped, 20_000, 'the stop waiting for the running execution');
    await (await start(dir)).waitForState(second, ['succeeded']);
  });
});
