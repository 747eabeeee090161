import { z } from 'zod';
import type { AgentEvent } from '../../../common/executions.js';
import type { PermissionMode } from '../../../common/triggers.js';
import { isNoCredit, NO_CREDIT_COOLDOWN_MS, NO_CREDIT_MESSAGES } from '../../accounts/no-credit.js';
import { isoTime, knownEvent, type BackendAdapter, type CommandLine, type Invocation, type OutputParser } from '../adapter.js';

type PermissionRules = Partial<Record<'edit' | 'bash' | 'external_directory', 'allow' | 'deny'>>;

/**
 * opencode's permission rules for each mode (https://opencode.ai/docs/permissions/).
 * `edit` covers every tool that changes files (edit, write, patch). A denied
 * tool is withdrawn from the model, which then answers without it. The rest
 * stays at opencode's default: allowed, except what it asks about (a path
 * outside the working directory, a `.env` file, the same call over and over),
 * which `run` refuses itself, ending the run. `full` also lets commands and
 * edits reach outside the working directory.
 */
const PERMISSIONS: Record<PermissionMode, PermissionRules> = {
  'read-only': { edit: 'deny', bash: 'deny' },
  edit: { edit: 'allow', bash: 'deny' },
  full: { edit: 'allow', bash: 'allow', external_directory: 'allow' },
};

/**
 * The agents opencode ships. An agent's own `permission` block beats the
 * top-level one, and a project's opencode.json may give these one: the mode's
 * denials are repeated on each (only the denials, so no agent gains what it
 * lacked, such as the read-only explore agent), from OPENCODE_CONFIG_CONTENT,
 * which opencode reads after the project's files. A custom agent that a
 * project makes its default keeps its own rules.
 */
const BUILT_IN_AGENTS = ['build', 'plan', 'general', 'explore'];

function permissionEnv(mode: PermissionMode): Record<string, string> {
  const rules = PERMISSIONS[mode];
  const denials = Object.fromEntries(Object.entries(rules).filter(([, action]) => action === 'deny'));
  return {
    // Merged over every config file opencode reads, the project's too.
    OPENCODE_PERMISSION: JSON.stringify(rules),
    ...(Object.keys(denials).length === 0
      ? {}
      : { OPENCODE_CONFIG_CONTENT: JSON.stringify({ agent: Object.fromEntries(BUILT_IN_AGENTS.map((agent) => [agent, { permission: denials }])) }) }),
  };
}

/**
 * One word of the prompt as a value of `run`'s message, which is declared a
 * string: glued to its option, a word that starts with a dash is no option.
 * yargs strips one pair of matching quotes around an option's value, so a
 * word in quotes (`"quoted"`, a lone `'`) gets one more pair.
 */
function messageOption(word: string): string {
  const quote = word[0];
  const quoted = (quote === '"' || quote === "'") && word.endsWith(quote);
  return `--message=${quoted ? `${quote}${word}${quote}` : word}`;
}

/**
 * `opencode run --format json`: one JSON event a line on stdout.
 *
 * The prompt is split at its spaces: `run` joins its message words with
 * spaces but first wraps each word that contains one in double quotes
 * (escaping the quotes inside), so a prompt passed whole would reach the model
 * quoted. Split, the words join back into the exact prompt, with no shell in
 * between. Each word is a `--message=` option (see messageOption), not a
 * word after `--`: yargs turns those that look like numbers ("PR 42") into
 * numbers, on which `run` crashes ("G.includes is not a function").
 *
 * `--title=` (empty) names the session after the prompt; without it opencode
 * asks the model for a title, a second paid request each run. Warnings and
 * errors go to stderr (`--print-logs`): some failures, such as an unknown
 * model, reach stdout only as "Unexpected server error".
 *
 * opencode runs in `$PWD` when it is set, not in its working directory, and
 * the worker's environment carries the worker's own `PWD`. Nobody can answer
 * an approval prompt: `run` refuses whatever would ask, without waiting.
 * Sharing is off: a prompt can carry a webhook's payload, and a config with
 * `share: "auto"` would publish it.
 */
function commandLine(invocation: Invocation): CommandLine {
  return {
    args: [
      'run',
      '--format',
      'json',
      '--title=',
      '--print-logs',
      '--log-level',
      'WARN',
      // Glued to its option: yargs reads a separate value that starts with a dash as an option of its own (`--agent=plan`, `--attach=<url>`).
      ...(invocation.model === null ? [] : [`--model=${invocation.model}`]),
      ...invocation.prompt.split(' ').map(messageOption),
    ],
    env: {
      PWD: invocation.workingDirectory,
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_SHARE: '1',
      ...permissionEnv(invocation.permissionMode),
    },
  };
}

// The events of `opencode run --format json` (each a message part, as the run command prints them), only the fields read here.
const ToolState = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('completed'),
    input: z.unknown(),
    output: z.string(),
    // The bash tool's exit status; other tools keep other things here.
    metadata: z.object({ exit: z.number().nullish().catch(null) }).optional().catch(undefined),
  }),
  z.object({ status: z.literal('error'), input: z.unknown(), error: z.string() }),
]);
/**
 * A token count or cost: a negative one is unknown, so it can never lower what
 * a run spent; a cost that is no number (`null` is how JSON.stringify writes
 * NaN and Infinity) is unknown too, without costing the step's result.
 */
const Count = z.number().transform((value) => (value >= 0 ? value : null));
const Tokens = z.object({
  input: Count,
  output: Count,
  reasoning: Count.default(0),
  cache: z.object({ read: Count, write: Count }).default({ read: 0, write: 0 }),
});
// Lenient: an error line is worth reporting even when a detail has an unexpected shape.
const ErrorData = z.object({
  message: z.string().optional().catch(undefined),
  statusCode: z.number().optional().catch(undefined),
  responseHeaders: z.record(z.string(), z.string()).optional().catch(undefined),
  responseBody: z.string().optional().catch(undefined),
});

const OpencodeEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('step_start') }),
  z.object({ type: z.literal('text'), part: z.object({ text: z.string() }) }),
  z.object({ type: z.literal('tool_use'), part: z.object({ tool: z.string(), callID: z.string(), state: ToolState }) }),
  z.object({ type: z.literal('step_finish'), part: z.object({ reason: z.string(), tokens: Tokens, cost: Count.nullable().catch(null) }) }),
  z.object({
    type: z.literal('error'),
    timestamp: z.number(),
    error: z.object({ name: z.string().optional().catch(undefined), message: z.string().optional().catch(undefined), data: ErrorData.optional().catch(undefined) }),
  }),
]);
type OpencodeEvent = z.infer<typeof OpencodeEvent>;
type ErrorKind = Extract<AgentEvent, { type: 'error' }>['kind'];

/**
 * What kind of failure an opencode error is. A provider's HTTP error arrives
 * as `APIError` with its status; a failure inside a stream (Anthropic's
 * `overloaded_error` event) has only its message.
 */
export function errorKindOf(name: string | undefined, message: string, statusCode: number | undefined): ErrorKind {
  // An account that cannot pay: the next account may run (no-credit.ts).
  if (isNoCredit(message)) return 'rate_limit';
  if (name === 'ProviderAuthError' || statusCode === 401 || statusCode === 403) return 'auth';
  if (statusCode === 429) return 'rate_limit';
  if (statusCode !== undefined && statusCode >= 500) return 'server';
  if (statusCode !== undefined) return 'other';
  if (/rate.?limit|too many requests|quota|usage limit/i.test(message)) return 'rate_limit';
  if (/overloaded|internal server error|service unavailable|bad gateway/i.test(message)) return 'server';
  return 'other';
}

/** A reset time from Anthropic's rate-limit headers (https://docs.anthropic.com/en/api/rate-limits#response-headers). */
const RESET_HEADER = /^anthropic-ratelimit-[a-z-]+-reset$/;

/**
 * When a rate limit lets requests through again, from the headers of the
 * provider's last answer: `retry-after-ms` or `retry-after` (seconds, or an
 * HTTP date) counted from when opencode reported the error, else the latest
 * of Anthropic's reset times (RFC 3339).
 */
export function retryTimeOf(headers: Record<string, string>, reportedAt: number): string | null {
  const milliseconds = Number.parseFloat(headers['retry-after-ms'] ?? '');
  if (Number.isFinite(milliseconds)) return isoTime(reportedAt + milliseconds);
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) {
    const seconds = Number.parseFloat(retryAfter);
    if (Number.isFinite(seconds)) return isoTime(reportedAt + seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return isoTime(date);
  }
  const resets = Object.entries(headers)
    .filter(([name]) => RESET_HEADER.test(name.toLowerCase()))
    .map(([, value]) => Date.parse(value))
    .filter(Number.isFinite);
  return resets.length > 0 ? isoTime(Math.max(...resets)) : null;
}

// OpenAI's error body (https://platform.openai.com/docs/guides/error-codes); codex's ChatGPT backend puts its code in `type`.
const OpenAiErrorBody = z.object({ error: z.object({ code: z.unknown().optional(), type: z.unknown().optional() }) });

/**
 * The words for an HTTP error that says the account cannot pay, from the
 * OpenAI code in its body: opencode passes on OpenAI's own message ("You
 * exceeded your current quota…"), which Gemini's per-minute limit shares.
 */
function noCreditText(responseBody: string | undefined): string | undefined {
  const body = knownEvent(responseBody ?? '', OpenAiErrorBody);
  const code = [body?.error.code, body?.error.type].find((value): value is keyof typeof NO_CREDIT_MESSAGES => typeof value === 'string' && Object.hasOwn(NO_CREDIT_MESSAGES, value));
  return code === undefined ? undefined : NO_CREDIT_MESSAGES[code];
}

function errorEvents(event: Extract<OpencodeEvent, { type: 'error' }>): AgentEvent[] {
  const { name, data } = event.error;
  const text = noCreditText(data?.responseBody) ?? data?.message ?? event.error.message ?? name ?? 'opencode reported an error';
  const message = data?.statusCode === undefined ? text : `${text} (HTTP ${data.statusCode})`;
  const kind = errorKindOf(name, text, data?.statusCode);
  // No credit has no reset time of its own: the account is set aside for a day.
  const retryAt = kind !== 'rate_limit' ? null : isNoCredit(text) ? isoTime(event.timestamp + NO_CREDIT_COOLDOWN_MS) : retryTimeOf(data?.responseHeaders ?? {}, event.timestamp);
  return [
    { type: 'error', message, kind, retryAt },
    { type: 'result', ok: false, text: message },
  ];
}

/** The error of a call `run` refused because it would have asked (opencode's PermissionRejectedError); the run ends after it. */
const REJECTED = 'The user rejected permission to use this specific tool call.';

/** The tool opencode reports when the model calls a tool it does not have (a denied one, for instance). */
const INVALID_TOOL = 'invalid';

/**
 * Reads `opencode run --format json`. A tool call is printed once, when it has
 * ended, with its input and output. Each step (one model request) ends with
 * `step_finish`, carrying that step's tokens and cost: they add up. opencode
 * prints no final result line: a step that ends with reason `stop` is the
 * model's final answer, so it is the ok result, with the last text the model
 * wrote; a step that ends for `tool-calls` goes on with the next step. An
 * `error` line ends the run (opencode then exits 1): it is the failed result.
 * A run that ends otherwise (stopped mid-step, or after a call `run` refused)
 * has no result: its exit status and errors decide.
 */
class OpencodeParser implements OutputParser {
  private lastText: string | null = null;

  parseLine(line: string): AgentEvent[] {
    const event = knownEvent(line, OpencodeEvent);
    return event ? this.eventsOf(event) : [];
  }

  private eventsOf(event: OpencodeEvent): AgentEvent[] {
    switch (event.type) {
      case 'step_start':
        return [];
      case 'text':
        this.lastText = event.part.text;
        return [{ type: 'message', role: 'assistant', text: event.part.text }];
      case 'tool_use':
        return toolEvents(event.part);
      case 'step_finish': {
        const { tokens, cost, reason } = event.part;
        // opencode counts cached and reasoning tokens apart; the input and output billed include them.
        const usage: AgentEvent = {
          type: 'usage',
          inputTokens: sumOf([tokens.input, tokens.cache.read, tokens.cache.write]),
          outputTokens: sumOf([tokens.output, tokens.reasoning]),
          costUsd: cost,
        };
        return reason === 'stop' ? [usage, { type: 'result', ok: true, text: this.lastText }] : [usage];
      }
      case 'error':
        return errorEvents(event);
      default:
        return event satisfies never;
    }
  }
}

/** The sum, or null when one part is unknown. */
function sumOf(values: (number | null)[]): number | null {
  let sum = 0;
  for (const value of values) {
    if (value === null) return null;
    sum += value;
  }
  return sum;
}

function toolEvents(part: Extract<OpencodeEvent, { type: 'tool_use' }>['part']): AgentEvent[] {
  const { state } = part;
  const call: AgentEvent = { type: 'tool_call', id: part.callID, name: part.tool, input: state.input };
  if (state.status === 'completed') {
    const failed = part.tool === INVALID_TOOL || (typeof state.metadata?.exit === 'number' && state.metadata.exit !== 0);
    return [call, { type: 'tool_result', id: part.callID, output: state.output, isError: failed }];
  }
  const result: AgentEvent = { type: 'tool_result', id: part.callID, output: state.error, isError: true };
  if (state.error !== REJECTED) return [call, result];
  const refusal = `opencode refused the ${part.tool} call because it would have asked for permission, which nobody can give in an unattended run, and stopped`;
  return [call, result, { type: 'error', message: refusal, kind: 'other', retryAt: null }];
}

export function createOpencodeParser(): OutputParser {
  return new OpencodeParser();
}

export const opencodeAdapter: BackendAdapter = {
  backend: 'opencode',
  commandLine,
  createParser: createOpencodeParser,
};
