import fs from 'node:fs';
import path from 'node:path';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StreamStatus } from '../../common/streams.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import { ExecutionStream } from '../../renderer/src/api/execution-stream.js';
import { FetchEventSource } from '../../renderer/src/api/fetch-event-source.js';
import { serveExecutionStream, WorkerEventSource, type MessageEndpoint } from '../../renderer/src/api/stream-worker.js';
import type { EventSourceFactory, EventSourceLike } from '../../renderer/src/api/live-connection.js';
import { LogBuffer, type LogLine } from '../../renderer/src/lib/log-buffer.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The stream half of the stream view: a real worker streams a real
 * execution's lines (a flooding agent in Claude Code's output format stands
 * in for a CLI that writes thousands of lines), and the page's
 * ExecutionStream receives them over a spec-compliant EventSource into the
 * LogBuffer that LogView draws (log-view.test.ts).
 */
const FLOOD_LINES = 3_000;

let engine: Engine;
let executionId: string;
const temp = makeTempDir();

beforeAll(async () => {
  const flood = path.join(temp.dir, 'flood-agent');
  fs.writeFileSync(flood, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'flood-agent.mjs')}"\n`, { mode: 0o755 });
  engine = await startEngine({ AGENTED_CLAUDE_PATH: flood, FLOOD_LINES: String(FLOOD_LINES), FLOOD_PADDING: '300' });
  const trigger = await engine.createTrigger({ promptTemplate: 'flood' });
  executionId = await engine.run(trigger);
  const done = await engine.waitForState(executionId, ['succeeded', 'failed'], 60_000);
  expect(done.state, done.reason ?? '').toBe('succeeded');
}, 90_000);

afterAll(async () => {
  await engine?.close();
  temp.remove();
});

interface Connection {
  url: string;
  lastEventId: string | null;
}

type Reader = 'EventSource' | 'FetchEventSource' | 'WorkerEventSource';

/**
 * The two ways the page can read a stream, with the API key on their
 * requests: the `eventsource` package (WHATWG-compliant, reconnects with
 * Last-Event-ID like a browser's EventSource) and the page's own
 * FetchEventSource (what the execution page uses). `cutAfterBytes` ends the
 * first response early, as a dropped connection would.
 */
function eventSources(reader: Reader, options: { cutAfterBytes?: number } = {}): { factory: EventSourceFactory; connections: Connection[] } {
  const connections: Connection[] = [];
  const cuttingFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    connections.push({ url: String(input), lastEventId: headers.get('last-event-id') });
    headers.set('authorization', `Bearer ${engine.server.key}`);
    const response = await fetch(input, { ...init, headers });
    if (options.cutAfterBytes === undefined || connections.length > 1 || !response.body) return response;
    let sent = 0;
    const body = response.body.getReader();
    const cut = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await body.read();
        if (done || sent >= options.cutAfterBytes!) {
          await body.cancel().catch(() => undefined);
          controller.error(new TypeError('connection reset'));
          return;
        }
        sent += value.byteLength;
        controller.enqueue(value);
      },
    });
    return new Response(cut, { status: response.status, headers: response.headers });
  };
  const factories: Record<Reader, EventSourceFactory> = {
    EventSource: (url) => new EventSource(new URL(url, engine.server.url).href, { fetch: cuttingFetch }) as unknown as EventSourceLike,
    FetchEventSource: (url) => new FetchEventSource(new URL(url, engine.server.url).href, { fetch: cuttingFetch }),
    // The page's worker protocol, both ends real: the worker's side runs on the far end of a MessageChannel (what a Worker is to the page).
    WorkerEventSource: (url) => new WorkerEventSource(new URL(url, engine.server.url).href, () => inThreadWorker(cuttingFetch)),
  };
  return { factory: factories[reader], connections };
}

/** The execution stream worker's code on one end of a MessageChannel; the other end is what the page talks to. */
function inThreadWorker(fetchImpl: typeof fetch): MessagePort & { terminate(): void } {
  const channel = new MessageChannel();
  serveExecutionStream(channel.port2 as unknown as MessageEndpoint, { fetch: fetchImpl });
  return Object.assign(channel.port1, {
    terminate: () => {
      channel.port1.close();
      channel.port2.close();
    },
  });
}

function follow(buffer: LogBuffer, factory: EventSourceFactory): Promise<{ status: StreamStatus; stream: ExecutionStream }> {
  return new Promise((resolve) => {
    const stream: ExecutionStream = new ExecutionStream({
      api: new ApiClient({ baseUrl: engine.server.url }),
      executionId,
      buffer,
      createEventSource: factory,
      initialDelayMs: 50,
      onStatus: (status) => resolve({ status, stream }),
    });
  });
}

const seqs = (lines: readonly LogLine[]) => lines.map((line) => line.seq);
const oneToN = (n: number) => Array.from({ length: n }, (_value, index) => index + 1);

describe.each<Reader>(['EventSource', 'FetchEventSource', 'WorkerEventSource'])('execution stream read with %s', (reader) => {
  it('every line of the execution arrives once, in sequence order, then the final status and no reconnect', async () => {
    const buffer = new LogBuffer();
    const { factory, connections } = eventSources(reader);
    const { status } = await follow(buffer, factory);
    expect(status).toEqual({ state: 'succeeded', reason: null });
    const total = FLOOD_LINES + 3; // start line, the flood, the result, the end line
    expect(seqs(buffer.lines)).toEqual(oneToN(total));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(connections).toHaveLength(1);
    // The normalized rows of the same lines: one assistant message per flood line, the result, no bookkeeping JSON.
    expect(buffer.rows.filter((row) => row.kind === 'assistant')).toHaveLength(FLOOD_LINES);
    expect(buffer.rows.some((row) => row.kind === 'result_ok')).toBe(true);
    // Text, time and events as the server sent them (a line from the worker parses them when asked).
    const tenth = buffer.lines[9]!;
    expect(tenth.text).toContain('"type":"assistant"');
    expect(Date.parse(tenth.ts)).toBeGreaterThan(0);
    expect(tenth.events?.[0]).toMatchObject({ type: 'message', role: 'assistant' });
  });

  it('a connection dropped mid-replay resumes from the last line received (Last-Event-ID): nothing lost, nothing doubled', async () => {
    const buffer = new LogBuffer();
    const { factory, connections } = eventSources(reader, { cutAfterBytes: 64 * 1024 });
    const { status } = await follow(buffer, factory);
    expect(status.state).toBe('succeeded');
    expect(seqs(buffer.lines)).toEqual(oneToN(FLOOD_LINES + 3));
    expect(connections.length).toBeGreaterThanOrEqual(2);
    const resumedFrom = Number(connections[1]!.lastEventId);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThan(FLOOD_LINES);
  });

  it('a stream reopened on a buffer that has lines asks only for what comes after them', async () => {
    const buffer = new LogBuffer();
    await follow(buffer, eventSources(reader).factory);
    const kept = new LogBuffer();
    for (const line of buffer.lines.slice(0, 1_000)) kept.append(line);

    const { factory, connections } = eventSources(reader);
    await follow(kept, factory);
    expect(connections[0]!.url).toMatch(/\?after=1000$/);
    expect(seqs(kept.lines)).toEqual(oneToN(FLOOD_LINES + 3));
  });

});

describe('a flood read in slices', () => {
  it('one chunk of thousands of events is handed over in slices, in order, with other tasks running between them', async () => {
    // The whole stream as one chunk, as a page that fell behind reads it.
    const oneChunk: typeof fetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${engine.server.key}`);
      const response = await fetch(input, { ...init, headers });
      const bytes = new Uint8Array(await response.arrayBuffer());
      const body = new ReadableStream<Uint8Array>({ start: (controller) => (controller.enqueue(bytes), controller.close()) });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const seen: number[] = [];
    const beats: number[] = [];
    const beat = setInterval(() => beats.push(seen.length), 0);
    const source = new FetchEventSource(new URL(`/api/executions/${executionId}/stream`, engine.server.url).href, { fetch: oneChunk, sliceMs: 1 });
    source.addEventListener('log', (event) => seen.push(JSON.parse(event.data).seq as number));
    await new Promise<void>((resolve) => source.addEventListener('status', () => resolve()));
    source.close();
    clearInterval(beat);
    expect(seen).toEqual(oneToN(FLOOD_LINES + 3));
    // The timer ran while the chunk was being handed over: it was not one task.
    expect(beats.some((count) => count > 0 && count < seen.length)).toBe(true);
  });
});

describe('log buffer', () => {
  it('a repeated line is ignored and a gap is reported, so a reconnect never doubles or skips a line', () => {
    const buffer = new LogBuffer();
    const line = (seq: number): LogLine => ({ seq, stream: 'stdout', text: `line ${seq}`, ts: new Date().toISOString(), events: null });
    expect(buffer.append(line(1))).toBe('added');
    expect(buffer.append(line(2))).toBe('added');
    expect(buffer.append(line(2))).toBe('duplicate');
    expect(buffer.append(line(1))).toBe('duplicate');
    expect(buffer.append(line(4))).toBe('gap');
    expect(buffer.append(line(3))).toBe('added');
    expect(seqs(buffer.lines)).toEqual([1, 2, 3]);
  });
});

describe('a stream the server refuses', () => {
  it('without a session the stream fails for good (a 401 is not an event stream), and the page is asked whether to go on', async () => {
    let asked = 0;
    const stream = new ExecutionStream({
      api: new ApiClient({ baseUrl: engine.server.url }),
      executionId,
      buffer: new LogBuffer(),
      createEventSource: (url) => new FetchEventSource(url),
      initialDelayMs: 10,
      onGiveUp: () => {
        asked++;
        return false;
      },
    });
    await vi.waitFor(() => expect(stream.state).toBe('closed'));
    expect(asked).toBe(1);
  });
});
