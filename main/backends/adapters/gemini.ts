import { z } from 'zod';
import type { AgentEvent } from '../../../common/executions.js';
import type { PermissionMode } from '../../../common/triggers.js';
import type { RunAdapter } from '../../executions/usage-file.js';
import { isoTime, knownEvent, type CommandLine, type Invocation, type OutputParser } from '../adapter.js';
import { geminiUsageFile } from './gemini-usage.js';

/**
 * Gemini CLI's approval modes (docs/reference/configuration.md). Run headless,
 * nobody can approve a tool call, so the CLI does not even declare a tool that
 * would ask: in `default` the model gets only the read-only tools (read, list,
 * search, web search), in `auto_edit` also write_file and replace but no
 * shell, in `yolo` everything. `plan` refuses writes too, but it swaps in a
 * planning system prompt and lets the model write plan files to its plans
 * folder, which is not what a read-only trigger asks for.
 */
const APPROVAL_MODES: Record<PermissionMode, string> = {
  'read-only': 'default',
  edit: 'auto_edit',
  full: 'yolo',
};

/**
 * `gemini --prompt=… --output-format stream-json`: headless, one JSON event a
 * line (docs/cli/headless.md). The prompt and the model are glued to their
 * options because yargs reads a separate value that starts with a dash as an
 * option ("Not enough arguments following: p"). Without a model the CLI
 * picks one itself (`auto`), so none is passed unless the trigger sets one.
 *
 * The environment: a headless run in a folder the user never trusted
 * interactively exits with code 55 unless told to trust it; the CLI otherwise
 * re-spawns itself as a second Node process only to raise its heap limit
 * (packages/cli/index.ts), which doubles the start-up time for nothing in a
 * one-shot run; and colours are off so stderr reads cleanly in the log.
 * Headless runs never check for updates.
 */
function commandLine(invocation: Invocation): CommandLine {
  return {
    args: [
      `--prompt=${invocation.prompt}`,
      '--output-format',
      'stream-json',
      '--approval-mode',
      APPROVAL_MODES[invocation.permissionMode],
      ...(invocation.model === null ? [] : [`--model=${invocation.model}`]),
    ],
    env: { GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_CLI_NO_RELAUNCH: 'true', NO_COLOR: '1' },
  };
}

// The stream-json events (packages/core/src/output/types.ts in google-gemini/gemini-cli), only the fields read here.
/** A token count: a negative one is unknown, so it can never lower what a run spent. */
const Count = z.number().transform((value) => (value >= 0 ? value : null));
const Stats = z.object({ input_tokens: Count, output_tokens: Count, total_tokens: Count.optional().catch(undefined) });
const GeminiEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('init') }),
  z.object({ type: z.literal('message'), role: z.enum(['user', 'assistant']), content: z.string() }),
  z.object({ type: z.literal('tool_use'), tool_name: z.string(), tool_id: z.string(), parameters: z.unknown() }),
  z.object({
    type: z.literal('tool_result'),
    tool_id: z.string(),
    status: z.enum(['success', 'error']),
    output: z.string().optional(),
    error: z.object({ message: z.string() }).optional(),
  }),
  z.object({ type: z.literal('error'), timestamp: z.string().optional(), severity: z.enum(['warning', 'error']), message: z.string() }),
  z.object({
    type: z.literal('result'),
    timestamp: z.string().optional(),
    status: z.enum(['success', 'error']),
    error: z.object({ type: z.string().optional(), message: z.string() }).optional(),
    stats: Stats.optional(),
  }),
]);
type GeminiEvent = z.infer<typeof GeminiEvent>;

type ErrorKind = Extract<AgentEvent, { type: 'error' }>['kind'];

/**
 * The run's output tokens. The stats' `output_tokens` is Google's
 * `candidatesTokenCount`, the answer alone: the model's thinking
 * (`thoughtsTokenCount`), which Google bills as output and which can be most
 * of a run, is only in `total_tokens`, the sum of the usage's counts.
 */
function outputTokensOf(stats: z.infer<typeof Stats>): number | null {
  const { input_tokens: input, output_tokens: output, total_tokens: total } = stats;
  if (input === null || output === null || total === null || total === undefined) return output;
  return Math.max(output, total - input);
}

/**
 * What kind of failure a gemini error message is. API errors read
 * `[API Error: <Google's error body as JSON>]`, except quota errors, which
 * the CLI rewords ("… Suggested retry after 22s.", "You have exhausted your
 * daily quota on this model.") and follows with "Please wait and try again
 * later. To increase your limits, request a quota increase …". The Gemini API
 * answers a bad key with 400 API_KEY_INVALID, not 401. A provider that cannot
 * be reached ("fetch failed sending request") counts as a server failure.
 */
function errorKindOf(message: string, type = ''): ErrorKind {
  if (/"code":\s*429\b|RESOURCE_EXHAUSTED|quota|rate limit|please wait and try again later/i.test(message)) return 'rate_limit';
  if (/"code":\s*40[13]\b|\b(UNAUTHENTICATED|PERMISSION_DENIED|API_KEY_INVALID)\b|API key not valid/.test(message) || type === 'FatalAuthenticationError') return 'auth';
  if (/"code":\s*5\d\d\b|\b(INTERNAL|UNAVAILABLE|DEADLINE_EXCEEDED)\b|overloaded|fetch failed/.test(message)) return 'server';
  return 'other';
}

const PACIFIC_WALL_CLOCK = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** How far Pacific wall-clock time is ahead of UTC at `instant` (negative), in ms. */
function pacificOffsetAt(instant: number): number {
  const part = Object.fromEntries(PACIFIC_WALL_CLOCK.formatToParts(instant).map(({ type, value }) => [type, Number(value)]));
  const wall = Date.UTC(part.year ?? 0, (part.month ?? 1) - 1, part.day ?? 1, part.hour ?? 0, part.minute ?? 0, part.second ?? 0);
  return wall - Math.floor(instant / 1000) * 1000;
}

/** The first midnight in Pacific time after `now` (DST changes there at 2 AM, so midnight always exists once). */
function nextPacificMidnight(now: Date): Date {
  const today = new Date(now.getTime() + pacificOffsetAt(now.getTime()));
  const midnightOnTheWall = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1);
  const estimate = midnightOnTheWall - pacificOffsetAt(midnightOnTheWall);
  return new Date(midnightOnTheWall - pacificOffsetAt(estimate));
}

const UNIT_MS = { ms: 1, s: 1000 } as const;

/**
 * When a rate limit resets, from the CLI's wording of Google's answer: the
 * `google.rpc.RetryInfo` delay ("Suggested retry after 22s."), the delay in
 * Google's own message ("Please retry in 10.68s."), or, for a daily quota,
 * midnight Pacific time, when Google resets those
 * (https://ai.google.dev/gemini-api/docs/rate-limits).
 */
function retryTimeOf(message: string, now: Date): string | null {
  const delay = /(?:Suggested retry after|Please retry in) (\d+(?:\.\d+)?)(ms|s)\b|"retryDelay":\s*"(\d+(?:\.\d+)?)(ms|s)"/.exec(message);
  if (delay) {
    const amount = Number(delay[1] ?? delay[3]);
    const unit = (delay[2] ?? delay[4]) as keyof typeof UNIT_MS;
    return isoTime(now.getTime() + Math.ceil(amount * UNIT_MS[unit]));
  }
  return /daily quota/i.test(message) ? nextPacificMidnight(now).toISOString() : null;
}

/**
 * Reads `gemini --output-format stream-json`. The answer arrives as
 * assistant message deltas; a tool call is `tool_use` and its outcome
 * `tool_result`, matched by `tool_id`. The run ends with one `result`, which
 * carries the run's token totals (the CLI reports no cost) and, when it
 * failed, the error; its text is what the model said after its last tool
 * call, as the CLI's `--output-format json` answers. A non-fatal `error` line
 * is a warning unless its severity says error.
 */
class GeminiParser implements OutputParser {
  private answer = '';

  constructor(private readonly now: () => Date) {}

  parseLine(line: string): AgentEvent[] {
    const event = knownEvent(line, GeminiEvent);
    return event ? this.eventsOf(event) : [];
  }

  /** The line's own time, so a retry delay counts from when the CLI said it, not from when the line was read. */
  private timeOf(timestamp: string | undefined): Date {
    const time = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
    return Number.isNaN(time) ? this.now() : new Date(time);
  }

  private error(message: string, timestamp: string | undefined, type?: string): AgentEvent {
    const kind = errorKindOf(message, type);
    return { type: 'error', message, kind, retryAt: kind === 'rate_limit' ? retryTimeOf(message, this.timeOf(timestamp)) : null };
  }

  private eventsOf(event: GeminiEvent): AgentEvent[] {
    switch (event.type) {
      case 'init':
        return [];
      case 'message':
        if (event.role === 'assistant') this.answer += event.content;
        return [{ type: 'message', role: event.role, text: event.content }];
      case 'tool_use':
        this.answer = '';
        return [{ type: 'tool_call', id: event.tool_id, name: event.tool_name, input: event.parameters }];
      case 'tool_result':
        return [{ type: 'tool_result', id: event.tool_id, output: event.output ?? event.error?.message ?? '', isError: event.status === 'error' }];
      case 'error':
        return event.severity === 'error' ? [this.error(event.message, event.timestamp)] : [{ type: 'message', role: 'system', text: event.message }];
      case 'result': {
        const usage: AgentEvent[] = event.stats ? [{ type: 'usage', inputTokens: event.stats.input_tokens, outputTokens: outputTokensOf(event.stats), costUsd: null }] : [];
        if (event.status === 'success') return [...usage, { type: 'result', ok: true, text: this.answer === '' ? null : this.answer }];
        // A stream the CLI found invalid ends in an error line and a result without its own error.
        if (!event.error) return [...usage, { type: 'result', ok: false, text: null }];
        return [...usage, this.error(event.error.message, event.timestamp, event.error.type), { type: 'result', ok: false, text: event.error.message }];
      }
      default:
        return event satisfies never;
    }
  }
}

/** A parser with its own clock, for lines without a timestamp. */
export function createGeminiParser(now: () => Date = () => new Date()): OutputParser {
  return new GeminiParser(now);
}

/** Its stdout has usage only at the end; the usage file has each API call's (see gemini-usage.ts), so a hard budget can stop a run between calls. */
export const geminiAdapter: RunAdapter = {
  backend: 'gemini',
  commandLine,
  createParser: () => createGeminiParser(),
  usageFile: geminiUsageFile,
};
