import { z } from 'zod';
import { BackendChecklist } from './backends.js';
import { AgentEvent, ExecutionState } from './executions.js';

/**
 * The server-sent events of the API, as the browser receives them: the data
 * of each named event. The server writes these shapes in
 * `main/server/routes/execution-stream.ts`; the renderer parses them here.
 */

export const LogStream = z.enum(['stdout', 'stderr', 'system']);
export type LogStream = z.infer<typeof LogStream>;

/** `log` on `GET /api/executions/:id/stream`; the SSE event id is `seq`. */
export const StreamLog = z
  .object({
    /** Numbered per execution from 1, without gaps: the resume point (`Last-Event-ID`, `?after=`). */
    seq: z.number().int().positive(),
    stream: LogStream,
    text: z.string(),
    ts: z.string(),
    /** The normalized event of the line (when it parsed); the first, when there are several. */
    event: AgentEvent.optional(),
    /** Every normalized event of the line, only when there are several (a line's one event is sent once, as `event`). */
    events: z.array(AgentEvent).optional(),
  })
  .meta({ id: 'StreamLog' });
export type StreamLog = z.infer<typeof StreamLog>;

/** `usage` on an execution stream: the running totals. */
export const StreamUsage = z
  .object({ inputTokens: z.number().nullable(), outputTokens: z.number().nullable(), costUsd: z.number().nullable() })
  .meta({ id: 'StreamUsage' });
export type StreamUsage = z.infer<typeof StreamUsage>;

/** `status` on an execution stream: the final state; the server closes the stream after it. */
export const StreamStatus = z.object({ state: ExecutionState, reason: z.string().nullable() }).meta({ id: 'StreamStatus' });
export type StreamStatus = z.infer<typeof StreamStatus>;

/** `execution` on `GET /api/events`: an execution was created, or its state changed. */
export const ExecutionChangeEvent = z
  .object({
    kind: z.enum(['created', 'state']),
    id: z.string(),
    triggerId: z.string(),
    state: ExecutionState,
    reason: z.string().nullable(),
    /** Set on `created` only. */
    concurrencyKey: z.string().nullable().optional(),
  })
  .meta({ id: 'ExecutionChangeEvent' });
export type ExecutionChangeEvent = z.infer<typeof ExecutionChangeEvent>;

/** `backends` on `GET /api/events`: the CLI health checklist changed. */
export const BackendsChangeEvent = BackendChecklist;
