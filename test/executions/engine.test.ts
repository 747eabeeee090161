import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupAlive, processRunning } from '../../main/executions/process-group.js';
import { startEngine, stubbornExecutable, type Engine } from '../helpers/engine.js';
import { hasEvent, logLines, openEventStream, type EventStreamClient } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

/** The real worker running the real Claude Code CLI against the Anthropic stand-in. */
describe('execution engine: runs, streams, stops', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine();
  });
  afterAll(async () => {
    await engine.close();
  });

  const auth = () => ({ authorization: `Bearer ${engine.server.key}` });

  it('a manual run goes queued → running → succeeded, with usage; its stream replays every line numbered from 1, then the status', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    const done = await engine.waitForState(id, ['succeeded', 'failed']);
    expect(done, done.reason ?? '').toMatchObject({ state: 'succeeded', exitCode: 0, reason: null });
    expect(done.startedAt).not.toBeNull();
    expect(done.processGroup).toBeGreaterThan(0);
    expect(done.usage.inputTokens).toBeGreaterThan(0);
    expect(done.usage.outputTokens).toBeGreaterThan(0);
    // No working directory set: it ran in a folder of its own.
    expect(fs.existsSync(path.join(engine.server.dataDir, 'workspaces', id))).toBe(true);

    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(stream.ended, 10_000, 'the stream of a finished execution ending');
    const lines = logLines(stream.events);
    expect(lines.map((line) => line.seq)).toEqual(lines.map((_line, index) => index + 1));
    expect(stream.events.filter((event) => event.event === 'log').map((event) => Number(event.id))).toEqual(lines.map((line) => line.seq));
    expect(lines[0]).toMatchObject({ stream: 'system', text: expect.stringMatching(/^starting \S*claude \(claude \(environment credentials\)\) in /) as unknown });
    expect(hasEvent(lines, 'message')).toBe(true);
    expect(hasEvent(lines, 'usage')).toBe(true);
    expect(hasEvent(lines, 'result')).toBe(true);
    const last = stream.events.at(-1)!;
    expect(last.event).toBe('status');
    expect(JSON.parse(last.data)).toEqual({ state: 'succeeded', reason: null });
    expect(stream.events.some((event) => event.event === 'usage')).toBe(true);

    // Resuming after line 2 sends exactly the rest.
    const resumed = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { ...auth(), 'last-event-id': '2' });
    await within(resumed.ended, 10_000, 'the resumed stream ending');
    expect(logLines(resumed.events).map((line) => line.seq)).toEqual(lines.slice(2).map((line) => line.seq));
  });

  it('100 clients watch one execution live, one reconnecting mid-stream with Last-Event-ID: each gets every line exactly once, in order', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'READ 12 then answer', permissionMode: 'read-only' });
    const id = await engine.run(trigger);
    const path = `/api/executions/${id}/stream`;
    const clients: EventStreamClient[] = Array.from({ length: 99 }, () => openEventStream(engine.server.url, path, auth()));
    const leaving = openEventStream(engine.server.url, path, auth());
    await leaving.waitFor((event) => event.event === 'log' && Number(event.id) >= 3);
    leaving.close();
    const received = logLines(leaving.events);
    const lastId = String(received.at(-1)!.seq);
    const returning = openEventStream(engine.server.url, path, { ...auth(), 'last-event-id': lastId });

    await within(Promise.all([...clients, returning].map((client) => client.ended)), 60_000, 'every stream ending');
    const final = await engine.execution(id);
    expect(final.state, final.reason ?? '').toBe('succeeded');

    const stored = openEventStream(engine.server.url, path, auth());
    await stored.ended;
    const expected = logLines(stored.events).map((line) => `${line.seq}:${line.text}`);
    expect(expected.length).toBeGreaterThan(12 * 2);
    for (const client of clients) {
      expect(logLines(client.events).map((line) => `${line.seq}:${line.text}`)).toEqual(expected);
      expect(client.events.at(-1)!.event).toBe('status');
    }
    const rejoined = [...received, ...logLines(returning.events)].map((line) => `${line.seq}:${line.text}`);
    expect(rejoined).toEqual(expected);
  });

  it('a timeout stops the execution as timed_out and leaves no process behind', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', timeoutSeconds: 2 });
    const id = await engine.run(trigger);
    const running = await engine.waitForState(id, ['running']);
    const ended = await engine.waitForState(id, ['timed_out', 'succeeded', 'failed', 'cancelled'], 20_000);
    expect(ended.state).toBe('timed_out');
    expect(ended.reason).toMatch(/timeout of 2 s/);
    const pgid = (await engine.execution(running.id)).processGroup!;
    expect(pgid).toBeGreaterThan(0);
    expect(groupAlive(pgid)).toBe(false);
  });

  it('a cancelled queued execution never starts; a finished one cannot be cancelled (409)', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 1 });
    const first = await engine.run(trigger);
    await engine.waitForState(first, ['running']);
    const second = await engine.run(trigger);
    expect((await engine.execution(second)).state).toBe('queued');
    const cancelled = await engine.api<{ state: string; startedAt: string | null }>('POST', `/api/executions/${second}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', startedAt: null });
    expect((await engine.api('POST', `/api/executions/${first}/cancel`)).status).toBe(200);
    const again = await engine.api<{ error: { code: string } }>('POST', `/api/executions/${first}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ERR_EXECUTION_FINISHED');
  });

  it('replay runs the same prompt again as a new execution linked to the original', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello to {{params.who}}', params: [{ name: 'who', type: 'string', required: true }] });
    const original = await engine.run(trigger, { who: 'Ada' });
    await engine.waitForState(original, ['succeeded']);
    const replay = await engine.api<{ executionId: string }>('POST', `/api/executions/${original}/replay`);
    expect(replay.status).toBe(202);
    const copy = await engine.waitForState(replay.body.executionId, ['succeeded', 'failed']);
    const source = await engine.execution(original);
    expect(copy).toMatchObject({ state: 'succeeded', replayOf: original, source: 'replay', prompt: source.prompt, params: { who: 'Ada' } });
  });
});

describe('execution engine: cancelling a process tree that resists', () => {
  let engine: Engine;
  const temp = makeTempDir();
  beforeAll(async () => {
    // Stands in for a misbehaving CLI: ignores SIGINT and SIGTERM and starts a grandchild.
    engine = await startEngine({ AGENTED_CLAUDE_PATH: stubbornExecutable(temp.dir) });
  });
  afterAll(async () => {
    await engine.close();
    temp.remove();
  });

  it('cancel ends the leader, its children and grandchildren: nothing of the group remains', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'anything' });
    const id = await engine.run(trigger);
    await engine.waitForState(id, ['running']);
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    const pidsLine = await within(stream.waitFor((event) => event.event === 'log' && event.data.includes('pids')), 10_000, 'the tree printing its pids');
    const pids = (JSON.parse((JSON.parse(pidsLine.data) as { text: string }).text) as { pids: number[] }).pids;
    expect(pids).toHaveLength(3);
    expect(pids.every(processRunning)).toBe(true);

    const cancelled = await engine.api<{ state: string; reason: string; processGroup: number }>('POST', `/api/executions/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect(cancelled.body.reason).toMatch(/cancelled through the API/);
    expect(pids.filter(processRunning)).toEqual([]);
    expect(groupAlive(cancelled.body.processGroup)).toBe(false);
    await within(stream.ended, 5_000, 'the stream ending after the cancel');
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ state: 'cancelled' });
  });
});
