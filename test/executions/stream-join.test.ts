import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type Engine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';

/** Lines the agent writes at once (about 8 MB: more than a paused client's socket takes), then one at a time. */
const BURST_LINES = 800;
const DRIP_LINES = 300;
/** Lines the CLI writes right before it exits, and its tool child after that. */
const LEFTOVER_LINES = 200;

/**
 * A stand-in agent CLI in Claude Code's output format, doing what its prompt says:
 * "DRIP" writes a burst of long lines, then one every 5 ms; "LINGER" reports its
 * result with its usage, then takes a while to exit, as a CLI closing its session does;
 * "LEAVE" starts a tool child that ignores SIGINT and writes to the inherited stdout
 * after the CLI has exited, then writes a burst of lines and its result and exits.
 */
const AGENT = `import { spawn } from 'node:child_process';
const prompt = process.argv.at(-1) ?? '';
const say = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
const text = (index) => say({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: 'line ' + index + ' ' + 'x'.repeat(10000) }] } });
const result = () => say({ type: 'result', subtype: 'success', is_error: false, result: 'Done.', total_cost_usd: 0.0125, usage: { input_tokens: 1200, output_tokens: 340 } });
if (process.argv[2] === 'tool-child') {
  process.on('SIGINT', () => {});
  process.send('ready', () => process.disconnect());
  setTimeout(() => {
    for (let index = 0; index < ${LEFTOVER_LINES}; index++) process.stdout.write('tool child ' + index + '\\n');
  }, 300);
} else if (prompt.includes('DRIP')) {
  for (let index = 0; index < ${BURST_LINES}; index++) text(index);
  let index = ${BURST_LINES};
  const timer = setInterval(() => {
    if (index === ${BURST_LINES + DRIP_LINES}) {
      clearInterval(timer);
      result();
      return;
    }
    text(index++);
  }, 5);
} else if (prompt.includes('LEAVE')) {
  const child = spawn(process.execPath, [process.argv[1], 'tool-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.unref();
  child.once('message', () => {
    for (let index = 0; index < ${LEFTOVER_LINES}; index++) text(index);
    result();
  });
} else {
  result();
  setTimeout(() => process.exit(0), 1500);
}
`;

/** One connection's text; the client reads nothing for its first `pauseMs` (it falls behind the replay of what is stored). */
function readOnce(url: URL, headers: Record<string, string>, pauseMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.pause();
      setTimeout(() => res.resume(), pauseMs);
      res.once('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.once('error', reject);
  });
}

/** As an EventSource does: reconnects with Last-Event-ID until the stream ends with its status. Returns every log id received, in order. */
async function follow(url: URL, headers: Record<string, string>, pauseMs: number): Promise<number[]> {
  const ids: number[] = [];
  for (let connections = 0; connections < 20; connections++) {
    const resume: Record<string, string> = ids.length === 0 ? {} : { 'last-event-id': String(ids.at(-1)) };
    const received = await readOnce(url, { ...headers, ...resume }, connections === 0 ? pauseMs : 0);
    ids.push(...[...received.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])));
    if (received.includes('event: status')) return ids;
  }
  throw new Error('the stream never ended with a status');
}

describe('joining an execution stream while it runs', () => {
  let engine: Engine;
  const temp = makeTempDir();
  beforeAll(async () => {
    const script = path.join(temp.dir, 'agent.mjs');
    fs.writeFileSync(script, AGENT);
    const agent = path.join(temp.dir, 'agent');
    fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`, { mode: 0o755 });
    engine = await startEngine({ AGENTED_CLAUDE_PATH: agent });
  });
  afterAll(async () => {
    await engine.close();
    temp.remove();
  });
  const auth = () => ({ authorization: `Bearer ${engine.server.key}` });

  it('a client that joins mid-output and falls behind the replay gets every line once, in order, then the status', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'DRIP' });
    const id = await engine.run(trigger);
    const watcher = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(watcher.waitFor((event) => Number(event.id) >= BURST_LINES), 15_000, 'the burst being stored');
    // The replay of the burst outgrows what this client's socket takes while it reads nothing: the lines the agent writes meanwhile must reach it too.
    const ids = await within(follow(new URL(`/api/executions/${id}/stream`, engine.server.url), auth(), 300), 30_000, 'the client reaching the status');
    const gap = ids.findIndex((seq, index) => seq !== index + 1);
    expect(gap === -1 ? 'none' : `after ${ids[gap - 1]} came ${ids[gap]}`, 'the first gap').toBe('none');
    watcher.close();
    // Every line stored: a replay of the ended execution (the watcher itself may have been dropped as a slow client under load, by design).
    await engine.waitForState(id, ['succeeded'], 30_000);
    const replay = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(replay.ended, 30_000, 'the replay ending');
    expect(ids.length).toBe(Math.max(...replay.events.map((event) => Number(event.id ?? 0))));
  });

  it('a client that joins after the usage was reported, before the end, gets the usage before the status', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'LINGER' });
    const id = await engine.run(trigger);
    let execution = await engine.execution(id);
    for (let tries = 0; execution.usage.inputTokens === null && tries < 200; tries++) {
      await sleep(20);
      execution = await engine.execution(id);
    }
    expect(execution).toMatchObject({ state: 'running', usage: { inputTokens: 1200, outputTokens: 340 } });
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(stream.ended, 10_000, 'the stream ending');
    const tail = stream.events.filter((event) => event.event !== 'log');
    expect(tail.map((event) => event.event)).toEqual(['usage', 'status']);
    expect(JSON.parse(tail[0]!.data)).toMatchObject({ inputTokens: 1200, outputTokens: 340, costUsd: 0.0125 });
    expect(JSON.parse(tail[1]!.data)).toEqual({ state: 'succeeded', reason: null });
  });

  it('a client watching from the start gets every line a replay of the ended execution has, the tool child\'s after the CLI exited too, then the status', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'LEAVE' });
    const id = await engine.run(trigger);
    const live = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(live.ended, 20_000, 'the live stream ending');
    const replay = openEventStream(engine.server.url, `/api/executions/${id}/stream`, auth());
    await within(replay.ended, 10_000, 'the replay ending');
    const replayed = logLines(replay.events);
    expect(replayed.filter((line) => line.text.startsWith('tool child ')).length).toBe(LEFTOVER_LINES);
    expect(logLines(live.events).map((line) => line.seq)).toEqual(replayed.map((line) => line.seq));
    expect(live.events.at(-1)).toMatchObject({ event: 'status', data: JSON.stringify({ state: 'succeeded', reason: null }) });
    expect(replayed.at(-1)!.text).toBe('succeeded (exit code 0)');
  });
});
