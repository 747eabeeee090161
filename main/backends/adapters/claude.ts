import { z } from 'zod';
import type { AgentEvent } from '../../../common/executions.js';
import type { PermissionMode } from '../../../common/triggers.js';
import { isoTime, type BackendAdapter, type CommandLine, type Invocation, type OutputParser } from '../adapter.js';

/**
 * Claude Code's tools that ask before they run. Nobody is there to answer, so
 * in print mode (`-p`) a tool that would ask is refused at once: the model gets
 * an error result and goes on.
 */
const EDITING_TOOLS = ['Edit', 'Write', 'NotebookEdit'];
const ASKING_TOOLS = ['Bash', ...EDITING_TOOLS, 'WebFetch', 'WebSearch'];

/**
 * How each permission mode maps to Claude Code's own
 * (https://docs.anthropic.com/en/docs/claude-code/iam#permission-modes):
 *
 * - `read-only`: `dontAsk` refuses whatever would need asking, and the editing
 *   tools are withdrawn altogether (a disallowed tool beats any allow rule in
 *   the user's own settings). Reading, searching and read-only shell commands
 *   (`ls`, `git log`) still work.
 * - `edit`: `acceptEdits` accepts file edits in the working directory (and
 *   shell commands that only write files there); other commands are refused.
 * - `full`: `bypassPermissions` — except as root, where Claude Code refuses
 *   that mode and exits 1 ("--dangerously-skip-permissions cannot be used with
 *   root/sudo privileges for security reasons") unless `IS_SANDBOX=1` claims the
 *   machine is a disposable sandbox. Agented cannot know that, so it does not
 *   claim it: as root, every tool that asks is allowed by name instead (an
 *   unqualified `Bash` rule allows any command), on top of `acceptEdits`.
 */
function permissionArgs(mode: PermissionMode, runsAsRoot: boolean): string[] {
  switch (mode) {
    case 'read-only':
      return ['--permission-mode', 'dontAsk', '--disallowedTools', ...EDITING_TOOLS];
    case 'edit':
      return ['--permission-mode', 'acceptEdits'];
    case 'full':
      return runsAsRoot ? ['--permission-mode', 'acceptEdits', '--allowedTools', ...ASKING_TOOLS] : ['--permission-mode', 'bypassPermissions'];
    default:
      return mode satisfies never;
  }
}

/**
 * `claude -p --output-format stream-json --verbose`: one JSON message a line
 * (https://docs.anthropic.com/en/docs/claude-code/sdk/sdk-headless; print mode
 * refuses stream-json without `--verbose`). `-p` is a switch and the prompt a
 * positional argument, so it comes last, after `--`: a prompt that starts with
 * a dash is not read as an option, and the tool lists (which take every
 * argument up to the next option) cannot swallow it. The runner runs
 * unattended: no self-update, and none of the telemetry, error reporting and
 * update checks that "nonessential traffic" covers.
 */
function commandLine(invocation: Invocation, runsAsRoot: boolean): CommandLine {
  return {
    args: [
      '--output-format',
      'stream-json',
      '--verbose',
      ...(invocation.model === null ? [] : ['--model', invocation.model]),
      ...permissionArgs(invocation.permissionMode, runsAsRoot),
      '-p',
      '--',
      invocation.prompt,
    ],
    env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
  };
}

// Claude Code's stream-json messages (the SDK's SDKMessage types), only the fields read here.
const Block = z.looseObject({ type: z.string() });
const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const ToolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
const ToolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(Block)]).optional(),
  is_error: z.boolean().optional(),
});
const Content = z.union([z.string(), z.array(Block)]);
/**
 * A token count or cost: one that is negative, or not a number (`null` is how
 * JSON.stringify writes NaN and Infinity), is unknown, so it can never lower
 * what a run spent, nor cost the result line it came on.
 */
const Amount = z.number().nonnegative().optional().catch(undefined);

/** When Claude Code tells a subscription's limit: the `anthropic-ratelimit-unified-*` headers, `resetsAt` in Unix seconds. */
const RateLimitInfo = z.object({ status: z.string(), resetsAt: z.number().optional() });

const ClaudeMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('assistant'),
    message: z.object({ content: Content }),
    /** Set on the message Claude Code makes up to report a failed API call (`is_api_error_message`). */
    error: z.string().optional(),
    is_api_error_message: z.boolean().optional(),
    api_error_status: z.number().nullish(),
    api_error_params: z.object({ rate_limit_info: RateLimitInfo.optional() }).nullish(),
  }),
  z.object({ type: z.literal('user'), message: z.object({ content: Content }) }),
  z.object({ type: z.literal('rate_limit_event'), rate_limit_info: RateLimitInfo }),
  z.object({
    type: z.literal('result'),
    subtype: z.string(),
    is_error: z.boolean(),
    result: z.string().optional(),
    errors: z.array(z.string()).optional(),
    total_cost_usd: Amount,
    usage: z
      .object({
        input_tokens: Amount,
        output_tokens: Amount,
        cache_creation_input_tokens: Amount,
        cache_read_input_tokens: Amount,
      })
      .optional(),
    modelUsage: z
      .record(
        z.string(),
        z.object({
          inputTokens: Amount,
          outputTokens: Amount,
          cacheReadInputTokens: Amount,
          cacheCreationInputTokens: Amount,
        }),
      )
      .optional(),
    api_error_status: z.number().nullish(),
  }),
]);
type ClaudeMessage = z.infer<typeof ClaudeMessage>;
type ErrorKind = Extract<AgentEvent, { type: 'error' }>['kind'];

/**
 * Claude Code's own name for a failed API call (the `error` of its made-up
 * assistant message, an enum in 2.1.332). Billing, an unknown model, a bad
 * request and output limits are none of the kinds the runner acts on.
 */
const ERROR_KINDS: Record<string, ErrorKind> = {
  rate_limit: 'rate_limit',
  authentication_failed: 'auth',
  oauth_org_not_allowed: 'auth',
  account_on_hold: 'auth',
  verification_required: 'auth',
  cloud_credential_error: 'auth',
  overloaded: 'server',
  server_error: 'server',
};

/**
 * What Claude Code writes as the user's turn when a signal stops it (after the
 * partial answer, marked `aborted: true`). It then exits 0, and does not
 * always print its `result` (error_during_execution) before it does: without
 * this line a stopped run would look like a success.
 */
const INTERRUPTED = /^\[Request interrupted by user/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the schema's Block accepts: an object with a string `type`. */
function isBlock(value: unknown): value is Record<string, unknown> & { type: string } {
  return isRecord(value) && typeof value.type === 'string';
}

/** From the HTTP status when Claude Code does not name the failure. */
function kindOfStatus(status: number | null | undefined): ErrorKind {
  if (status === 429) return 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status !== null && status !== undefined && status >= 500) return 'server';
  return 'other';
}

function textOf(content: z.infer<typeof Content> | undefined): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((block) => TextBlock.safeParse(block))
    .flatMap((block) => (block.success ? [block.data.text] : []))
    .join('\n');
}

/** The sum, or null when one part is unknown. */
function sumOf(values: (number | undefined)[]): number | null {
  let sum = 0;
  for (const value of values) {
    if (value === undefined) return null;
    sum += value;
  }
  return sum;
}

/**
 * The run's tokens. `modelUsage` counts every model call (subagents and
 * Claude Code's own side calls too), where `usage` counts the main loop only
 * and, on an interrupted run, nothing at all. Anthropic's input tokens leave
 * out the cached part of the prompt, which for Claude Code is nearly all of
 * it: the cached parts are added in.
 */
function tokensOf(result: Extract<ClaudeMessage, { type: 'result' }>): { input: number | null; output: number | null } | null {
  const models = Object.values(result.modelUsage ?? {});
  if (models.length > 0) {
    return {
      input: sumOf(models.map((model) => (model.inputTokens === undefined ? undefined : model.inputTokens + (model.cacheReadInputTokens ?? 0) + (model.cacheCreationInputTokens ?? 0)))),
      output: sumOf(models.map((model) => model.outputTokens)),
    };
  }
  const usage = result.usage;
  if (!usage) return null;
  return {
    input: usage.input_tokens === undefined ? null : usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0),
    output: usage.output_tokens ?? null,
  };
}

/**
 * Reads `claude -p --output-format stream-json --verbose`. Assistant messages
 * carry text and tool calls, user messages the tool results (matched by the
 * tool_use id); the closing `result` carries the run's totals, reported once
 * as its usage (the per-message usage would count the same tokens twice).
 * Claude Code reports a failed API call as a made-up assistant message and
 * then a result with `is_error: true` but `subtype: "success"`, and a
 * subscription's limit first as a `rate_limit_event` with its reset time;
 * an interruption is an error too.
 */
/** API calls whose usage is remembered, to count a call once however many messages repeat its usage. */
const MAX_TRACKED_CALLS = 256;

class ClaudeParser implements OutputParser {
  private resetsAt: number | null = null;
  private reportedError = false;
  /** Tokens of each API call so far, by message id (Claude Code repeats a call's usage on every message it splits the reply into). */
  private readonly calls = new Map<string, { input: number; output: number }>();
  private total = { input: 0, output: 0 };

  parseLine(line: string): AgentEvent[] {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return [];
    }
    const events = this.messageEventsOf(json);
    const usage = this.runningUsage(json);
    return usage ? [...events, usage] : events;
  }

  private messageEventsOf(json: unknown): AgentEvent[] {
    const common = this.commonEventsOf(json);
    if (common !== undefined) return common;
    const message = ClaudeMessage.safeParse(json);
    return message.success ? this.eventsOf(message.data) : [];
  }

  /**
   * The run's tokens so far, from the usage each assistant message carries,
   * as a provisional usage event when they grew — so a hard budget can stop
   * a long run between its API calls rather than after its last. The
   * result's totals replace it (see tokensOf).
   */
  private runningUsage(json: unknown): AgentEvent | undefined {
    if (!isRecord(json) || json.type !== 'assistant' || !isRecord(json.message)) return undefined;
    const { id, usage } = json.message;
    if (typeof id !== 'string' || !isRecord(usage)) return undefined;
    const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
    const input = count(usage.input_tokens) + count(usage.cache_creation_input_tokens) + count(usage.cache_read_input_tokens);
    const output = count(usage.output_tokens);
    const previous = this.calls.get(id) ?? { input: 0, output: 0 };
    if (previous.input >= input && previous.output >= output) return undefined;
    const call = { input: Math.max(input, previous.input), output: Math.max(output, previous.output) };
    // The total moves by this call's growth: summing every call per message would make a long run quadratic.
    this.total = { input: this.total.input + call.input - previous.input, output: this.total.output + call.output - previous.output };
    this.calls.delete(id);
    this.calls.set(id, call);
    // Only recent calls can be repeated (a reply's messages, a subagent's interleaved ones): older ones are forgotten.
    if (this.calls.size > MAX_TRACKED_CALLS) this.calls.delete(this.calls.keys().next().value!);
    const total = this.total;
    return { type: 'usage', inputTokens: total.input, outputTokens: total.output, costUsd: null, provisional: true };
  }

  /**
   * The messages that make up nearly all of a run — assistant text and tool
   * calls, user tool results — read by hand: checking each line with the
   * schema cost as much as parsing its JSON. Only the plain shape is taken
   * here, with the same checks the schema makes; anything else (an API error,
   * a block not shaped as expected) returns undefined and goes through the
   * schema, which stays the one definition of what is accepted.
   */
  private commonEventsOf(json: unknown): AgentEvent[] | undefined {
    if (!isRecord(json) || (json.type !== 'assistant' && json.type !== 'user')) return undefined;
    const message = json.message;
    if (!isRecord(message)) return undefined;
    const content = message.content;
    if (json.type === 'assistant') {
      if (json.error !== undefined || json.is_api_error_message !== undefined || json.api_error_status !== undefined || json.api_error_params !== undefined) return undefined;
      if (typeof content === 'string') return [{ type: 'message', role: 'assistant', text: content }];
      if (!Array.isArray(content)) return undefined;
      const events: AgentEvent[] = [];
      for (const block of content as unknown[]) {
        if (!isBlock(block)) return undefined;
        if (block.type === 'text') {
          if (typeof block.text === 'string' && block.text !== '') events.push({ type: 'message', role: 'assistant', text: block.text });
        } else if (block.type === 'tool_use') {
          if (!('input' in block)) return undefined;
          if (typeof block.id === 'string' && typeof block.name === 'string') events.push({ type: 'tool_call', id: block.id, name: block.name, input: block.input });
        }
      }
      return events;
    }
    if (typeof content === 'string') return [this.userText(content)];
    if (!Array.isArray(content)) return undefined;
    const events: AgentEvent[] = [];
    for (const block of content as unknown[]) {
      if (!isBlock(block)) return undefined;
      if (block.type === 'tool_result') {
        const output = block.content;
        const outputOk = output === undefined || typeof output === 'string' || (Array.isArray(output) && (output as unknown[]).every(isBlock));
        if (typeof block.tool_use_id !== 'string' || !outputOk || (block.is_error !== undefined && typeof block.is_error !== 'boolean')) return undefined;
        events.push({ type: 'tool_result', id: block.tool_use_id, output: textOf(output as z.infer<typeof Content> | undefined), isError: block.is_error ?? false });
      } else if (block.type === 'text' && typeof block.text === 'string' && INTERRUPTED.test(block.text)) {
        events.push(this.userText(block.text));
      }
    }
    return events;
  }

  private eventsOf(message: ClaudeMessage): AgentEvent[] {
    switch (message.type) {
      case 'assistant': {
        if (message.is_api_error_message) {
          const kind = (message.error === undefined ? undefined : ERROR_KINDS[message.error]) ?? kindOfStatus(message.api_error_status);
          return [this.error(textOf(message.message.content), kind, message.api_error_params?.rate_limit_info?.resetsAt)];
        }
        if (typeof message.message.content === 'string') return [{ type: 'message', role: 'assistant', text: message.message.content }];
        return message.message.content.flatMap((block): AgentEvent[] => {
          const text = TextBlock.safeParse(block);
          if (text.success) return text.data.text === '' ? [] : [{ type: 'message', role: 'assistant', text: text.data.text }];
          const call = ToolUseBlock.safeParse(block);
          return call.success ? [{ type: 'tool_call', id: call.data.id, name: call.data.name, input: call.data.input }] : [];
        });
      }
      case 'user':
        if (typeof message.message.content === 'string') return [this.userText(message.message.content)];
        return message.message.content.flatMap((block): AgentEvent[] => {
          const result = ToolResultBlock.safeParse(block);
          if (result.success) return [{ type: 'tool_result', id: result.data.tool_use_id, output: textOf(result.data.content), isError: result.data.is_error ?? false }];
          const text = TextBlock.safeParse(block);
          return text.success && INTERRUPTED.test(text.data.text) ? [this.userText(text.data.text)] : [];
        });
      case 'rate_limit_event':
        // The failed call itself follows as an error message; keep when it ends.
        if (message.rate_limit_info.status === 'rejected' && message.rate_limit_info.resetsAt !== undefined) this.resetsAt = message.rate_limit_info.resetsAt;
        return [];
      case 'result':
        return this.result(message);
      default:
        return message satisfies never;
    }
  }

  private userText(text: string): AgentEvent {
    return INTERRUPTED.test(text) ? this.error(text, 'other', undefined) : { type: 'message', role: 'user', text };
  }

  private error(text: string, kind: ErrorKind, resetsAt: number | undefined): AgentEvent {
    this.reportedError = true;
    const reset = resetsAt ?? this.resetsAt;
    return { type: 'error', message: text, kind, retryAt: kind === 'rate_limit' && reset !== null ? isoTime(reset * 1000) : null };
  }

  private result(message: Extract<ClaudeMessage, { type: 'result' }>): AgentEvent[] {
    const events: AgentEvent[] = [];
    const tokens = tokensOf(message);
    if (tokens || message.total_cost_usd !== undefined) {
      events.push({ type: 'usage', inputTokens: tokens?.input ?? null, outputTokens: tokens?.output ?? null, costUsd: message.total_cost_usd ?? null });
    }
    const ok = !message.is_error && message.subtype === 'success';
    const text = message.result ?? (message.errors?.length ? message.errors.join('\n') : null);
    if (!ok && !this.reportedError && typeof message.api_error_status === 'number') {
      events.push(this.error(text ?? `the API answered ${message.api_error_status}`, kindOfStatus(message.api_error_status), undefined));
    }
    events.push({ type: 'result', ok, text: text ?? (ok ? null : message.subtype) });
    return events;
  }
}

/** The adapter for a worker that does, or does not, run as root (Claude Code refuses to bypass permissions as root). */
export function createClaudeAdapter(options: { runsAsRoot: boolean }): BackendAdapter {
  return {
    backend: 'claude',
    commandLine: (invocation) => commandLine(invocation, options.runsAsRoot),
    createParser: () => new ClaudeParser(),
  };
}

export const claudeAdapter: BackendAdapter = createClaudeAdapter({ runsAsRoot: process.getuid?.() === 0 });
