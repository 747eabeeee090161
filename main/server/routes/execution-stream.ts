import type { Request, Response } from 'express';
import { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { ExecutionIdParams } from '../../../common/executions.js';
import type { BackendHealth } from '../../backends/backend-health.js';
import { TERMINAL_STATES, type LiveOutput } from '../../executions/live-output.js';
import type { LogLine, LogStore } from '../../executions/log-store.js';
import type { ExecutionRepository } from '../../storage/execution-repository.js';
import { ApiError } from '../errors.js';
import { stillAuthenticated, type AuthDependencies } from '../middleware/authenticate.js';
import { defineRoute, type Route } from '../route.js';
import { SseConnection, sseFrame, type SseOptions, type SseRegistry } from '../sse.js';

const StreamQuery = z.object({ after: z.coerce.number().int().min(0).optional() });

/** Lines read from the store per step of a replay. */
const REPLAY_PAGE = 1_000;
/** Bytes written to a replaying client before waiting for its socket to drain (well under the slow-client limit). */
const REPLAY_CHUNK_BYTES = 64 * 1024;

/** A stored line's `log` event: its JSON record is already the data. */
function logFrameOf(seq: number, json: string): string {
  return `id: ${seq}\nevent: log\ndata: ${json}\n\n`;
}

/**
 * The last live line and its frame. A line is published to all its watchers
 * in one synchronous pass, so one entry is enough for the frame to be put
 * together once however many watch — with no entry kept per line.
 */
let lastLiveLine: LogLine | undefined;
let lastLiveFrame = '';

/** A live line's `log` event. */
function logFrame(line: LogLine): string {
  if (lastLiveLine !== line) {
    lastLiveLine = line;
    lastLiveFrame = logFrameOf(line.seq, line.json);
  }
  return lastLiveFrame;
}

export interface StreamDependencies {
  executions: ExecutionRepository;
  logs: LogStore;
  live: LiveOutput;
  health: BackendHealth;
  registry: SseRegistry;
  sse: SseOptions;
  /** To ask whether a stream's credentials still hold (a sign-out or a key rotation ends it), and to hear of sign-outs. */
  auth: AuthDependencies;
}

/** Live output of executions and the dashboard's event stream (server-sent events). */
export function executionStreamRoutes(deps: StreamDependencies): Route[] {
  /** An event stream that sends nothing more once the request's credentials no longer hold, and ends at once when its session signs out. */
  const openStream = (req: Request, res: Response) => {
    const connection = new SseConnection(req, res, { ...deps.sse, stillAuthorized: () => stillAuthenticated(req, deps.auth) });
    const session = req.auth?.session;
    if (session) {
      const signOuts = deps.auth.sessions.onRevoked((id) => {
        if (id === session.id) connection.close();
      });
      connection.onClose(() => signOuts.dispose());
    }
    return connection;
  };
  return [
    defineRoute<z.infer<typeof ExecutionIdParams>, z.infer<typeof StreamQuery>>({
      method: 'get',
      path: '/api/executions/:id/stream',
      auth: 'key',
      tag: 'executions',
      summary:
        'Server-sent events of one execution: every stored `log` line (the event id is its sequence number), then live ones, `usage` updates, and a final `status`. `Last-Event-ID` (or ?after=) resumes after that line.',
      params: ExecutionIdParams,
      query: StreamQuery,
      responses: {
        200: { description: 'The event stream', contentType: 'text/event-stream' },
        401: { description: 'No valid key', schema: ErrorBody },
        404: { description: 'No such execution', schema: ErrorBody },
      },
      handler: ({ params, query, req, res }) => {
        if (!deps.executions.get(params.id)) throw new ApiError('ERR_EXECUTION_NOT_FOUND');
        const lastEventId = req.get('last-event-id');
        const after = lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId.trim()) ? Number(lastEventId.trim()) : (query.after ?? 0);
        const connection = openStream(req, res);
        deps.registry.add(connection);
        streamExecution(deps, params.id, after, connection).catch((error: unknown) => {
          // Its stored lines could not be read (a damaged file, a disk error): this stream ends, the worker goes on.
          req.log.error('execution stream failed', { err: error, execution_id: params.id });
          connection.close();
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/events',
      auth: 'key',
      tag: 'events',
      summary: 'Server-sent events for the dashboard: `execution` (created, or its state changed) and `backends` (the CLI health checklist changed).',
      responses: { 200: { description: 'The event stream', contentType: 'text/event-stream' }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ req, res }) => {
        const connection = openStream(req, res);
        deps.registry.add(connection);
        const executionChanges = deps.executions.onChange((change) => connection.send(sseFrame('execution', change)));
        const healthChanges = deps.health.onChange((checklist) => connection.send(sseFrame('backends', checklist)));
        connection.onClose(() => {
          executionChanges.dispose();
          healthChanges.dispose();
        });
      },
    }),
  ];
}

/**
 * Replays stored lines after `after` page by page (waiting for the socket to
 * drain between pages), then — in the same synchronous step as the last read,
 * so no line can fall between the two — either ends with the stored final
 * status or follows the live output.
 */
async function streamExecution(deps: StreamDependencies, id: string, after: number, connection: SseConnection): Promise<void> {
  let last = after;
  while (!connection.isClosed) {
    const lines = deps.logs.records(id, last, REPLAY_PAGE);
    let chunk = '';
    // Lines written while the client was waited for came after this read: the store has them, not the live output.
    let waited = false;
    for (const line of lines) {
      chunk += logFrameOf(line.seq, line.json);
      last = line.seq;
      if (chunk.length >= REPLAY_CHUNK_BYTES) {
        connection.send(chunk);
        chunk = '';
        await connection.drained();
        waited = true;
      }
    }
    if (chunk !== '') connection.send(chunk);
    if (lines.length === REPLAY_PAGE || waited) {
      await connection.drained();
      continue;
    }
    const execution = deps.executions.get(id)!;
    // The usage so far, whether the execution has ended or not: a live update came before this client did.
    if (execution.usage.inputTokens !== null || execution.usage.outputTokens !== null || execution.usage.costUsd !== null) {
      connection.send(sseFrame('usage', execution.usage));
    }
    if (TERMINAL_STATES.has(execution.state)) {
      connection.send(sseFrame('status', { state: execution.state, reason: execution.reason }));
      connection.close();
      return;
    }
    const unsubscribe = deps.live.subscribe(id, (message) => {
      switch (message.kind) {
        case 'log':
          if (message.line.seq <= last) return;
          last = message.line.seq;
          connection.send(logFrame(message.line));
          return;
        case 'usage':
          connection.send(sseFrame('usage', message.usage));
          return;
        case 'status':
          connection.send(sseFrame('status', { state: message.state, reason: message.reason }));
          connection.close();
          return;
        default:
          return message satisfies never;
      }
    });
    connection.onClose(unsubscribe);
    return;
  }
}
