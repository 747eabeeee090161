import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { groupAlive, processRunning, spawnGroup } from '../../main/executions/process-group.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, untilTrue, within } from '../helpers/time.js';
import { repoRoot } from '../helpers/serve.js';

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'stop-race-agent.mjs');
/** Well above the 1 s the leftovers of a CLI that exits by itself get, so a SIGTERM at that pace cannot pass for this one. */
const STOP_GRACE_MS = 3_000;

/** What the fixture's tree recorded: `<ms> <role> <pid> <event>` a line. */
interface Recorded {
  at: number;
  role: string;
  pid: number;
  event: string;
}

function recorded(file: string): Recorded[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [at, role, pid, event] = line.split(' ');
      return { at: Number(at), role: role!, pid: Number(pid), event: event! };
    });
}

async function pidOf(file: string, role: string): Promise<number> {
  await untilTrue(() => recorded(file).some((entry) => entry.role === role && entry.event === 'started'), `the ${role} starting`);
  return recorded(file).find((entry) => entry.role === role)!.pid;
}

/**
 * Stops racing the end of a CLI's tree, on the real worker: a stop joined by
 * a second one, a stop that comes after the CLI exited, and a helper that
 * left the group with the CLI's stdout. The CLI is
 * test/fixtures/stop-race-agent.mjs; what it does is said by its prompt.
 */
describe('stops racing the end of a process tree', () => {
  let engine: Engine;
  const temp = makeTempDir('agented-stop-races-');
  const escaped: number[] = [];
  beforeAll(async () => {
    const agent = path.join(temp.dir, 'stop-race-agent');
    fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${FIXTURE}" "$@"\n`, { mode: 0o755 });
    engine = await startEngine({ AGENTED_CLAUDE_PATH: agent, AGENTED_STOP_GRACE_MS: String(STOP_GRACE_MS) });
  });
  afterAll(async () => {
    // The helpers that left the group are nobody's to stop but the test's (they would hold the pipes for a minute).
    for (const pid of escaped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await engine.close();
    temp.remove();
  });

  const auth = () => ({ authorization: `Bearer ${engine.server.key}` });
  const systemLines = async (id: string) => {
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(stream.ended, 10_000, 'the stream of a finished execution ending');
    return logLines(stream.events)
      .filter((line) => line.stream === 'system')
      .map((line) => line.text);
  };

  it('a cancel gives a tool child the whole grace: one SIGINT, and SIGTERM only after AGENTED_STOP_GRACE_MS, though the leader exits at SIGINT', async () => {
    const file = path.join(temp.dir, 'linger.log');
    const trigger = await engine.createTrigger({ promptTemplate: `LINGER ${file}`, workingDirectory: temp.dir });
    const id = await engine.run(trigger);
    const running = await engine.waitForState(id, ['running']);
    await pidOf(file, 'tool-child');

    const cancelled = await within(engine.api<Execution>('POST', `/api/executions/${id}/cancel`), 20_000, 'the cancel answering');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const child = recorded(file).filter((entry) => entry.role === 'tool-child');
    const signals = child.filter((entry) => entry.event !== 'started');
    // Once the leader had exited, its leftover cleanup joined the cancel's escalation rather than starting its own.
    expect(signals.map((entry) => entry.event)).toEqual(['SIGINT', 'SIGTERM']);
    expect(signals[1]!.at - signals[0]!.at).toBeGreaterThanOrEqual(STOP_GRACE_MS - 1_000);
    expect(recorded(file).filter((entry) => entry.role === 'leader').map((entry) => entry.event)).toEqual(['started', 'SIGINT']);
    expect(groupAlive(running.processGroup!)).toBe(false);
  });

  it('a cancel that comes after the CLI exited with success keeps the success (exit code 0), and its leftovers are still ended', async () => {
    const file = path.join(temp.dir, 'race.log');
    const trigger = await engine.createTrigger({ promptTemplate: `RACE ${file}`, workingDirectory: temp.dir });
    const id = await engine.run(trigger);
    const running = await engine.waitForState(id, ['running']);
    const leader = await pidOf(file, 'leader');
    const child = await pidOf(file, 'stubborn-child');
    await untilTrue(() => !processRunning(leader), 'the CLI exiting');
    // Its child ignores SIGINT and SIGTERM: the cleanup of leftovers takes two graces of 1 s, and the cancel comes during it.
    await sleep(300);
    expect(processRunning(child), 'the leftover child still runs when the cancel comes').toBe(true);

    const answer = await within(engine.api<Execution>('POST', `/api/executions/${id}/cancel`), 20_000, 'the cancel answering');
    expect(answer.status, 'the cancel came while the execution still ran').toBe(200);
    expect(answer.body).toMatchObject({ state: 'succeeded', exitCode: 0, reason: null });
    const ended = await engine.execution(id);
    expect(ended).toMatchObject({ state: 'succeeded', exitCode: 0, reason: null });
    expect(ended.attempts.map((attempt) => attempt.outcome)).toEqual(['succeeded']);
    expect(processRunning(child)).toBe(false);
    expect(groupAlive(running.processGroup!)).toBe(false);
    // Now it has ended, a cancel is refused like any of an ended execution.
    expect((await engine.api('POST', `/api/executions/${id}/cancel`)).status).toBe(409);
  });

  it('a CLI that exits with success ends its execution though a helper that left the group (setsid) still holds its stdout; the log says the output was cut', async () => {
    const file = path.join(temp.dir, 'escape.log');
    const trigger = await engine.createTrigger({ promptTemplate: `ESCAPE ${file}`, workingDirectory: temp.dir });
    const id = await engine.run(trigger);
    escaped.push(await pidOf(file, 'escaped-helper'));
    // The helper holds the pipes for 60 s.
    const ended = await engine.waitForState(id, ['succeeded', 'failed', 'cancelled', 'timed_out'], 20_000);
    expect(ended).toMatchObject({ state: 'succeeded', exitCode: 0, reason: null });
    expect(processRunning(escaped.at(-1)!), 'the helper still runs').toBe(true);
    expect(await systemLines(id)).toContainEqual(expect.stringMatching(/^output cut: a process that left the group still held the CLI's stdout or stderr/));
  });

  it('a timeout, and a cancel, end an execution whose stdout a helper that left the group still holds', async () => {
    const timedOut = path.join(temp.dir, 'escape-timeout.log');
    const timing = await engine.run(await engine.createTrigger({ promptTemplate: `ESCAPE HANG ${timedOut}`, workingDirectory: temp.dir, timeoutSeconds: 2 }));
    const cancelledFile = path.join(temp.dir, 'escape-cancel.log');
    const cancelling = await engine.run(await engine.createTrigger({ promptTemplate: `ESCAPE HANG ${cancelledFile}`, workingDirectory: temp.dir }));
    escaped.push(await pidOf(timedOut, 'escaped-helper'), await pidOf(cancelledFile, 'escaped-helper'));
    await engine.waitForState(cancelling, ['running']);

    const cancelled = await within(engine.api<Execution>('POST', `/api/executions/${cancelling}/cancel`), 20_000, 'the cancel answering');
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: expect.stringMatching(/^cancelled through the API/) as unknown });
    const ended = await engine.waitForState(timing, ['succeeded', 'failed', 'cancelled', 'timed_out'], 20_000);
    expect(ended).toMatchObject({ state: 'timed_out', reason: expect.stringMatching(/timeout of 2 s/) as unknown });
    for (const id of [timing, cancelling]) {
      expect(await systemLines(id)).toContainEqual(expect.stringMatching(/^output cut: /));
      expect(groupAlive((await engine.execution(id)).processGroup!)).toBe(false);
    }
  });
});

describe('stopping one process group twice', () => {
  const temp = makeTempDir('agented-stop-twice-');
  afterAll(() => temp.remove());

  it('a second stop joins the first: each process gets one SIGINT, and SIGTERM only after the first stop’s grace', async () => {
    const file = path.join(temp.dir, 'linger.log');
    const group = spawnGroup([process.execPath, FIXTURE, `LINGER ${file}`], { env: process.env });
    await pidOf(file, 'tool-child');

    const graceMs = 1_500;
    await within(Promise.all([group.stop({ graceMs }), sleep(100).then(() => group.stop({ graceMs: 100 }))]), 20_000, 'both stops resolving');
    const signals = recorded(file).filter((entry) => entry.role === 'tool-child' && entry.event !== 'started');
    expect(signals.map((entry) => entry.event)).toEqual(['SIGINT', 'SIGTERM']);
    expect(signals[1]!.at - signals[0]!.at).toBeGreaterThanOrEqual(graceMs - 500);
    expect(groupAlive(group.pgid)).toBe(false);
  });
});
