import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type Engine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';
import { repoRoot } from '../helpers/serve.js';

const FLOOD_LINES = 30_000;

/**
 * Streams under pressure. The CLI here is a flooding program in Claude Code's
 * output format (the real CLI cannot be made to write megabytes on demand);
 * everything else is the real worker.
 */
describe('execution streams', () => {
  let engine: Engine;
  const temp = makeTempDir();
  beforeAll(async () => {
    const flood = path.join(temp.dir, 'flood-agent');
    fs.writeFileSync(flood, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'flood-agent.mjs')}"\n`, { mode: 0o755 });
    engine = await startEngine({ AGENTED_CLAUDE_PATH: flood, FLOOD_LINES: String(FLOOD_LINES), FLOOD_PADDING: '400', AGENTED_SSE_HEARTBEAT_MS: '200' });
  });
  afterAll(async () => {
    await engine.close();
    temp.remove();
  });
  const auth = () => ({ authorization: `Bearer ${engine.server.key}` });

  it('a client that stops reading is disconnected past its buffer limit, while another gets every line; it resumes by id with nothing missed', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'flood' });
    const id = await engine.run(trigger);
    const streamPath = `/api/executions/${id}/stream`;
    const reader = openEventStream(engine.server.url, streamPath, auth());

    // A client that takes the first chunk and then reads nothing: the server's buffer for it fills.
    const stalled = await new Promise<{ resume: () => Promise<string> }>((resolve) => {
      const req = http.get(new URL(streamPath, engine.server.url), { headers: auth(), agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.pause();
        const closed = new Promise<void>((done) => res.once('close', done));
        req.once('error', () => undefined);
        // Reading again drains what the kernel still holds, then meets the end the server chose.
        resolve({ resume: () => (res.resume(), closed.then(() => Buffer.concat(chunks).toString('utf8'))) });
      });
    });

    await within(reader.ended, 60_000, 'the reading client getting the whole stream');
    const all = logLines(reader.events);
    expect(all.length).toBe(FLOOD_LINES + 3); // start line, the flood, the result, the end line
    expect(all.map((line) => line.seq)).toEqual(all.map((_line, index) => index + 1));
    expect(reader.events.at(-1)!.event).toBe('status');

    // The server gave up on the stalled client instead of buffering ~13 MB for it: it got a prefix, and no status.
    const received = await within(stalled.resume(), 10_000, 'the stalled client reaching the end of what it was sent');
    const ids = [...received.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1]));
    expect(ids).toEqual(ids.map((_id, index) => index + 1));
    const lastSeen = ids.at(-1) ?? 0;
    expect(lastSeen).toBeLessThan(FLOOD_LINES);
    expect(received).not.toContain('event: status');

    const resumed = openEventStream(engine.server.url, streamPath, { ...auth(), 'last-event-id': String(lastSeen) });
    await within(resumed.ended, 30_000, 'the resumed stream ending');
    expect(logLines(resumed.events).map((line) => line.seq)).toEqual(all.slice(lastSeen).map((line) => line.seq));
  });

  it('?after=N on a finished execution sends only the lines after N, then its status', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'flood' });
    const id = await engine.run(trigger);
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 60_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream?after=${FLOOD_LINES}`, auth());
    await stream.ended;
    expect(logLines(stream.events).map((line) => line.seq)).toEqual([FLOOD_LINES + 1, FLOOD_LINES + 2, FLOOD_LINES + 3]);
    expect(JSON.parse(stream.events.at(-1)!.data)).toEqual({ state: 'succeeded', reason: null });
  });

  it('heartbeats keep an idle stream alive; the dashboard stream reports executions as they are created and change state', async () => {
    const events = openEventStream(engine.server.url, '/api/events', auth());
    expect(await events.status).toBe(200);
    const trigger = await engine.createTrigger({ promptTemplate: 'flood' });
    const id = await engine.run(trigger);
    const created = await within(events.waitFor((event) => event.event === 'execution' && event.data.includes(id) && event.data.includes('"created"')), 10_000, 'the created event');
    expect(JSON.parse(created.data)).toMatchObject({ kind: 'created', id, triggerId: trigger, state: 'queued' });
    await within(events.waitFor((event) => event.event === 'execution' && event.data.includes(id) && event.data.includes('"running"')), 10_000, 'the running event');
    await within(events.waitFor((event) => event.event === 'execution' && event.data.includes(id) && event.data.includes('"succeeded"')), 60_000, 'the succeeded event');
    const before = events.comments;
    await sleep(700);
    expect(events.comments).toBeGreaterThan(before);
    events.close();
  });
});
