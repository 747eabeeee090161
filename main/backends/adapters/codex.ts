import { z } from 'zod';
import type { AgentEvent } from '../../../common/executions.js';
import type { PermissionMode } from '../../../common/triggers.js';
import { isNoCredit, NO_CREDIT_COOLDOWN_MS } from '../../accounts/no-credit.js';
import type { RunAdapter } from '../../executions/usage-file.js';
import { isoTime, knownEvent, type CommandLine, type Invocation, type OutputParser } from '../adapter.js';
import { codexUsageFile } from './codex-usage.js';

/**
 * Codex runs every command the model asks for in its own sandbox (on Linux
 * its bundled bubblewrap: new user, mount and network namespaces, a read-only
 * root, a seccomp filter; it works for root too). `workspace-write` lets
 * commands write the working directory and the temp folders (/tmp, $TMPDIR),
 * without network; `danger-full-access` is no sandbox at all.
 */
const SANDBOX_MODES: Record<PermissionMode, string> = {
  'read-only': 'read-only',
  edit: 'workspace-write',
  full: 'danger-full-access',
};

/**
 * `codex exec --json`: one JSON event a line on stdout
 * (https://github.com/openai/codex/blob/main/docs/exec.md). Nobody can
 * answer an approval prompt, so the policy is `never`: a command the sandbox
 * forbids fails, and asking to escalate is refused, without waiting. The
 * working directory is the process's own; `--skip-git-repo-check` because a
 * trigger's folder need not be a Git repository. `--` keeps a prompt that
 * starts with a dash from being read as an option.
 */
function commandLine(invocation: Invocation): CommandLine {
  return {
    args: [
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--sandbox',
      SANDBOX_MODES[invocation.permissionMode],
      '--config',
      'approval_policy="never"',
      // Glued to its option: clap reads a separate value that starts with a dash as an option ("unexpected argument").
      ...(invocation.model === null ? [] : [`--model=${invocation.model}`]),
      '--',
      invocation.prompt,
    ],
    env: {},
  };
}

// The JSONL events of `codex exec --json` (codex-rs/exec/src/exec_events.rs), only the fields read here.
const CommandExecution = z.object({
  id: z.string(),
  type: z.literal('command_execution'),
  command: z.string(),
  aggregated_output: z.string(),
  exit_code: z.number().nullable(),
  status: z.enum(['in_progress', 'completed', 'failed', 'declined']),
});
const FileChange = z.object({
  id: z.string(),
  type: z.literal('file_change'),
  changes: z.array(z.object({ path: z.string(), kind: z.string() })),
  status: z.enum(['in_progress', 'completed', 'failed']),
});
const McpToolCall = z.object({
  id: z.string(),
  type: z.literal('mcp_tool_call'),
  server: z.string(),
  tool: z.string(),
  arguments: z.unknown(),
  result: z.object({ content: z.array(z.unknown()) }).nullish(),
  error: z.object({ message: z.string() }).nullish(),
  status: z.enum(['in_progress', 'completed', 'failed']),
});
const WebSearch = z.object({ id: z.string(), type: z.literal('web_search'), query: z.string() });
type ToolItem = z.infer<typeof CommandExecution> | z.infer<typeof FileChange> | z.infer<typeof McpToolCall> | z.infer<typeof WebSearch>;

const Item = z.discriminatedUnion('type', [
  CommandExecution,
  FileChange,
  McpToolCall,
  WebSearch,
  z.object({ id: z.string(), type: z.literal('agent_message'), text: z.string() }),
  // A plan proposed in plan mode; codex takes it as the final answer when there is no message.
  z.object({ id: z.string(), type: z.literal('plan'), text: z.string() }),
  // A non-fatal warning (a config problem, unknown model metadata, a deprecation).
  z.object({ id: z.string(), type: z.literal('error'), message: z.string() }),
]);

/** A token count: a negative one is unknown, so it can never lower what a run spent. */
const Count = z.number().transform((value) => (value >= 0 ? value : null));

const CodexEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('item.started'), item: Item }),
  z.object({ type: z.literal('item.completed'), item: Item }),
  z.object({
    type: z.literal('turn.completed'),
    usage: z.object({ input_tokens: Count, cached_input_tokens: z.number().optional(), output_tokens: Count }),
  }),
  z.object({ type: z.literal('turn.failed'), error: z.object({ message: z.string() }) }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
type CodexEvent = z.infer<typeof CodexEvent>;

/** Codex reports each transient failure it retries as an `error` event of this form; the run goes on. */
const RECONNECTING = /^Reconnecting\.\.\. \d+\/\d+/;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const UNIT_MS: [RegExp, number][] = [
  [/^(d|days?)$/, 86_400_000],
  [/^(h|hrs?|hours?)$/, 3_600_000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(s|secs?|seconds?)$/, 1_000],
  [/^ms$/, 1],
];

function durationMs(text: string): number {
  let total = 0;
  for (const [, amount = '', unit = ''] of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]+)/gi)) {
    const scale = UNIT_MS.find(([pattern]) => pattern.test(unit.toLowerCase()))?.[1] ?? 0;
    total += Number(amount) * scale;
  }
  return total;
}

function hours24(hour: string, minute: string, meridiem: string): [number, number] {
  const base = Number(hour) % 12;
  return [meridiem.toUpperCase() === 'PM' ? base + 12 : base, Number(minute)];
}

/**
 * When a limit resets, from codex's own wording. Codex prints the reset in the
 * machine's local time zone: "try again at 2:07 PM." when it is today, "try
 * again at Nov 28th, 2026 7:40 PM." otherwise (codex-rs/core/src/error.rs,
 * format_retry_timestamp); a model at capacity says "Try again in 5m.".
 * Agented runs on the same machine, so its local time zone is the same one.
 */
export function retryTimeOf(message: string, now: Date): string | null {
  const date = /try again at ([A-Za-z]{3}) (\d{1,2})(?:st|nd|rd|th)?, (\d{4}) (\d{1,2}):(\d{2}) ?([AP]M)/i.exec(message);
  if (date) {
    const [, month = '', day = '', year = '', hour = '', minute = '', meridiem = ''] = date;
    const monthIndex = MONTHS.indexOf(month.toLowerCase());
    if (monthIndex === -1) return null;
    return isoTime(new Date(Number(year), monthIndex, Number(day), ...hours24(hour, minute, meridiem)).getTime());
  }
  const time = /try again at (\d{1,2}):(\d{2}) ?([AP]M)/i.exec(message);
  if (time) {
    const [, hour = '', minute = '', meridiem = ''] = time;
    return isoTime(new Date(now.getFullYear(), now.getMonth(), now.getDate(), ...hours24(hour, minute, meridiem)).getTime());
  }
  const relative = /try again in ((?:\d+(?:\.\d+)?\s*[a-z]+[\s,]*)+)/i.exec(message);
  if (relative) {
    const total = durationMs(relative[1] ?? '');
    return total > 0 ? isoTime(now.getTime() + total) : null;
  }
  return /try again in less than a minute/i.test(message) ? new Date(now.getTime() + 60_000).toISOString() : null;
}

/**
 * What kind of failure a codex error message is. Codex puts the HTTP status in
 * its text ("unexpected status 401 Unauthorized: …", "exceeded retry limit,
 * last status: 429 Too Many Requests") except for a few it words itself: a
 * 5xx is "We’re currently experiencing high demand…", an exhausted quota or
 * plan is "Quota exceeded…" or "You’ve hit your usage limit…". An account
 * that cannot pay (no credit, or a plan without Codex) is a rate limit too:
 * the next account may run.
 */
export function errorKindOf(message: string): Extract<AgentEvent, { type: 'error' }>['kind'] {
  if (isNoCredit(message) || /status:? 429\b|too many requests|rate limit|usage limit|quota exceeded|at capacity/i.test(message)) return 'rate_limit';
  if (/status:? 40[13]\b|unauthorized|missing environment variable|api key|sign in again|log in again/i.test(message)) return 'auth';
  if (/status:? 5\d\d\b|high demand|stream disconnected|internal server error|service unavailable|bad gateway/i.test(message)) return 'server';
  return 'other';
}

/** An account that cannot pay gives no reset time: it is set aside for a day (see no-credit.ts). */
function errorEvent(message: string, now: Date): AgentEvent {
  const kind = errorKindOf(message);
  if (kind !== 'rate_limit') return { type: 'error', message, kind, retryAt: null };
  return { type: 'error', message, kind, retryAt: isNoCredit(message) ? new Date(now.getTime() + NO_CREDIT_COOLDOWN_MS).toISOString() : retryTimeOf(message, now) };
}

/**
 * MCP tools are named as Claude Code names them (`mcp__server__tool`), so the
 * same tool reads the same in every backend's log.
 */
function toolCall(item: ToolItem): AgentEvent {
  switch (item.type) {
    case 'command_execution':
      return { type: 'tool_call', id: item.id, name: 'command_execution', input: { command: item.command } };
    case 'file_change':
      return { type: 'tool_call', id: item.id, name: 'file_change', input: { changes: item.changes } };
    case 'mcp_tool_call':
      return { type: 'tool_call', id: item.id, name: `mcp__${item.server}__${item.tool}`, input: item.arguments };
    case 'web_search':
      return { type: 'tool_call', id: item.id, name: 'web_search', input: { query: item.query } };
    default:
      return item satisfies never;
  }
}

function textOf(content: unknown): string {
  const block = typeof content === 'object' && content !== null ? (content as { type?: unknown; text?: unknown }) : {};
  return block.type === 'text' && typeof block.text === 'string' ? block.text : JSON.stringify(content);
}

function toolResult(item: ToolItem): AgentEvent {
  switch (item.type) {
    case 'command_execution':
      return {
        type: 'tool_result',
        id: item.id,
        output: item.aggregated_output,
        isError: item.status !== 'completed' || (item.exit_code !== null && item.exit_code !== 0),
      };
    case 'file_change':
      return { type: 'tool_result', id: item.id, output: item.changes.map((change) => `${change.kind} ${change.path}`).join('\n'), isError: item.status !== 'completed' };
    case 'mcp_tool_call':
      return {
        type: 'tool_result',
        id: item.id,
        output: item.error?.message ?? (item.result?.content ?? []).map(textOf).join('\n'),
        isError: item.status !== 'completed' || Boolean(item.error),
      };
    case 'web_search':
      return { type: 'tool_result', id: item.id, output: '', isError: false };
    default:
      return item satisfies never;
  }
}

/**
 * Reads `codex exec --json`. A tool's item is announced by `item.started` and
 * ended by `item.completed` with the same id; some (a file change, a declined
 * command) only ever complete, so a call is reported at completion when it was
 * not before. Codex runs one turn per exec: `turn.completed` (with the
 * turn's token total) or `turn.failed` is the result. Codex reports no cost.
 */
class CodexParser implements OutputParser {
  private readonly started = new Set<string>();
  private lastMessage: string | null = null;
  private lastPlan: string | null = null;
  private lastError: string | null = null;

  constructor(private readonly now: () => Date) {}

  parseLine(line: string): AgentEvent[] {
    const event = knownEvent(line, CodexEvent);
    return event ? this.eventsOf(event) : [];
  }

  private eventsOf(event: CodexEvent): AgentEvent[] {
    switch (event.type) {
      case 'item.started':
        if (event.item.type === 'agent_message' || event.item.type === 'plan' || event.item.type === 'error') return [];
        this.started.add(event.item.id);
        return [toolCall(event.item)];
      case 'item.completed':
        return this.completed(event.item);
      case 'turn.completed':
        return [
          { type: 'usage', inputTokens: event.usage.input_tokens, outputTokens: event.usage.output_tokens, costUsd: null },
          { type: 'result', ok: true, text: this.lastMessage ?? this.lastPlan },
        ];
      case 'turn.failed': {
        // Codex sends the same message as an `error` event just before: report it once.
        const repeated = event.error.message === this.lastError;
        return [...(repeated ? [] : [errorEvent(event.error.message, this.now())]), { type: 'result', ok: false, text: event.error.message }];
      }
      case 'error':
        if (RECONNECTING.test(event.message)) return [{ type: 'message', role: 'system', text: event.message }];
        this.lastError = event.message;
        return [errorEvent(event.message, this.now())];
      default:
        return event satisfies never;
    }
  }

  private completed(item: z.infer<typeof Item>): AgentEvent[] {
    switch (item.type) {
      case 'agent_message':
        this.lastMessage = item.text;
        return [{ type: 'message', role: 'assistant', text: item.text }];
      case 'plan':
        this.lastPlan = item.text;
        return [{ type: 'message', role: 'assistant', text: item.text }];
      case 'error':
        return [{ type: 'message', role: 'system', text: item.message }];
      default: {
        const announced = this.started.delete(item.id);
        return [...(announced ? [] : [toolCall(item)]), toolResult(item)];
      }
    }
  }
}

/** A parser with its own clock, for reading reset times relative to a known now. */
export function createCodexParser(now: () => Date = () => new Date()): OutputParser {
  return new CodexParser(now);
}

/** Its stdout has usage only at the end; the usage file has each API call's (see codex-usage.ts), so a hard budget can stop a run between calls. */
export const codexAdapter: RunAdapter = {
  backend: 'codex',
  commandLine,
  createParser: () => createCodexParser(),
  usageFile: codexUsageFile,
};
