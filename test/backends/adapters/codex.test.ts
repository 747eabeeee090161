import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import type { Invocation } from '../../../main/backends/adapter.js';
import { codexAdapter, createCodexParser, retryTimeOf } from '../../../main/backends/adapters/codex.js';
import { startAgentProcess, type AgentProcess, type OutputStream } from '../../../main/executions/agent-process.js';
import { groupAlive } from '../../../main/executions/process-group.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { startOpenAiStandIn, toolCallOutputs, toolThenText, writeCodexConfig, STAND_IN_CALL_ID, type OpenAiReply } from '../../helpers/stand-ins/openai.js';
import type { RecordedRequest, StandIn } from '../../helpers/stand-ins/server.js';
import { makeTempDir } from '../../helpers/temp.js';
import { sleep, within } from '../../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) => events.filter((event): event is Extract<AgentEvent, { type: T }> => event.type === type);

/** Every line through one parser, the events in order. */
function parseAll(lines: string[], now = () => new Date()): AgentEvent[] {
  const parser = createCodexParser(now);
  return lines.flatMap((line) => parser.parseLine(line));
}

const invocation: Invocation = { prompt: '-n "$(rm -rf ~)"', model: null, permissionMode: 'edit', workingDirectory: '/work/repo', env: {} };

describe('codex command line', () => {
  it('runs exec with JSON events, never asking for approval, the prompt one argument after --', () => {
    expect(codexAdapter.commandLine(invocation)).toEqual({
      args: ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '--config', 'approval_policy="never"', '--', '-n "$(rm -rf ~)"'],
      env: {},
    });
  });

  it.each([
    ['read-only', 'read-only'],
    ['edit', 'workspace-write'],
    ['full', 'danger-full-access'],
  ] as const)('permission mode %s is the %s sandbox', (permissionMode, sandbox) => {
    const { args } = codexAdapter.commandLine({ ...invocation, permissionMode });
    expect(args[args.indexOf('--sandbox') + 1]).toBe(sandbox);
  });

  it('passes the model when the trigger sets one', () => {
    const { args } = codexAdapter.commandLine({ ...invocation, model: 'gpt-5.5' });
    expect(args.slice(-3)).toEqual(['--model=gpt-5.5', '--', invocation.prompt]);
  });
});

// Lines as codex-cli 0.171.0 printed them against the stand-in (see the tests below).
const LINES = {
  threadStarted: '{"type":"thread.started","thread_id":"01a217c5-9458-72a0-9301-31e6b0054396"}',
  modelWarning:
    '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `gpt-stand-in` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}',
  turnStarted: '{"type":"turn.started"}',
  answer: '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Hello from the stand-in."}}',
  turnCompleted: '{"type":"turn.completed","usage":{"input_tokens":10097,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":7,"reasoning_output_tokens":0}}',
  commandStarted:
    '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \\"printf \'written by codex\' > note.txt\\"","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  commandRefused:
    '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc \\"printf \'written by codex\' > note.txt\\"","aggregated_output":"/bin/bash: line 1: note.txt: Read-only file system\\n","exit_code":1,"status":"failed"}}',
  fileChangeStarted: '{"type":"item.started","item":{"id":"item_0","type":"file_change","changes":[{"path":"/tmp/w/hello.txt","kind":"add"}],"status":"in_progress"}}',
  fileChangeCompleted: '{"type":"item.completed","item":{"id":"item_0","type":"file_change","changes":[{"path":"/tmp/w/hello.txt","kind":"add"}],"status":"completed"}}',
  unauthorized:
    '{"type":"error","message":"unexpected status 401 Unauthorized: Incorrect API key provided: sk-stand*****. You can find your API key at https://platform.openai.com/account/api-keys., url: http://127.0.0.1:40705/v1/responses, request id: req_bc29c70124bb1e199748c566"}',
  tooManyRequests: '{"type":"error","message":"exceeded retry limit, last status: 429 Too Many Requests, request id: req_f13c1c0be67ab2ea145add9e"}',
  serverError: '{"type":"error","message":"We’re currently experiencing high demand, which may cause temporary errors."}',
  unavailable: '{"type":"error","message":"unexpected status 503 Service Unavailable: The engine is currently overloaded, please try again later, url: http://127.0.0.1:46339/v1/responses"}',
  quota: '{"type":"error","message":"Quota exceeded. Check your plan and billing details."}',
  missingKey: '{"type":"error","message":"Missing environment variable: `STAND_IN_OPENAI_KEY`."}',
  badRequest: '{"type":"error","message":"Invalid model"}',
  usageLimitToday:
    '{"type":"error","message":"You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 2:07 PM."}',
  usageLimitLater: '{"type":"error","message":"You’ve hit your usage limit. Try again at Nov 28th, 2026 7:40 PM."}',
  reconnecting: '{"type":"error","message":"Reconnecting... 1/1 (stream disconnected before completion: stream closed before response.completed)"}',
  disconnected: '{"type":"error","message":"stream disconnected before completion: stream closed before response.completed"}',
  disconnectedFailed: '{"type":"turn.failed","error":{"message":"stream disconnected before completion: stream closed before response.completed"}}',
};

describe('codex parser', () => {
  it('reads a plain answer: the answer, the turn total, an ok result with the last message; a warning item is a system message', () => {
    expect(parseAll([LINES.threadStarted, LINES.modelWarning, LINES.turnStarted, LINES.answer, LINES.turnCompleted])).toEqual([
      { type: 'message', role: 'system', text: 'Model metadata for `gpt-stand-in` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.' },
      { type: 'message', role: 'assistant', text: 'Hello from the stand-in.' },
      { type: 'usage', inputTokens: 10097, outputTokens: 7, costUsd: null },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
  });

  it('reads a negative token count as unknown, never as fewer tokens spent', () => {
    expect(parseAll([LINES.answer, LINES.turnCompleted.replace('"input_tokens":10097', '"input_tokens":-10097')])).toEqual([
      { type: 'message', role: 'assistant', text: 'Hello from the stand-in.' },
      { type: 'usage', inputTokens: null, outputTokens: 7, costUsd: null },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
  });

  it('reads a command as a call when it starts and its result when it ends, with the same id; a refused command is an error result', () => {
    expect(parseAll([LINES.commandStarted, LINES.commandRefused])).toEqual([
      { type: 'tool_call', id: 'item_1', name: 'command_execution', input: { command: `/bin/bash -lc "printf 'written by codex' > note.txt"` } },
      { type: 'tool_result', id: 'item_1', output: '/bin/bash: line 1: note.txt: Read-only file system\n', isError: true },
    ]);
  });

  it('reads a file change; one that only completes is reported as a call and its result', () => {
    const result = { type: 'tool_result', id: 'item_0', output: 'add /tmp/w/hello.txt', isError: false };
    const call = { type: 'tool_call', id: 'item_0', name: 'file_change', input: { changes: [{ path: '/tmp/w/hello.txt', kind: 'add' }] } };
    expect(parseAll([LINES.fileChangeStarted, LINES.fileChangeCompleted])).toEqual([call, result]);
    expect(parseAll([LINES.fileChangeCompleted])).toEqual([call, result]);
  });

  it('names an MCP tool call as mcp__server__tool and joins its text content (shape of codex-rs/exec/src/exec_events.rs)', () => {
    const item = { id: 'item_4', type: 'mcp_tool_call', server: 'docs', tool: 'search', arguments: { q: 'sandbox' } };
    expect(
      parseAll([
        JSON.stringify({ type: 'item.started', item: { ...item, result: null, error: null, status: 'in_progress' } }),
        JSON.stringify({ type: 'item.completed', item: { ...item, result: { content: [{ type: 'text', text: 'found it' }], structured_content: null }, error: null, status: 'completed' } }),
      ]),
    ).toEqual([
      { type: 'tool_call', id: 'item_4', name: 'mcp__docs__search', input: { q: 'sandbox' } },
      { type: 'tool_result', id: 'item_4', output: 'found it', isError: false },
    ]);
  });

  it.each([
    ['401', LINES.unauthorized, 'auth'],
    ['429', LINES.tooManyRequests, 'rate_limit'],
    ['500 (worded by codex)', LINES.serverError, 'server'],
    ['503', LINES.unavailable, 'server'],
    ['a dropped stream', LINES.disconnected, 'server'],
    ['a missing key variable', LINES.missingKey, 'auth'],
    ['a 400 (codex shows only the body message)', LINES.badRequest, 'other'],
  ] as const)('classifies %s', (_what, line, kind) => {
    expect(parseAll([line])).toEqual([{ type: 'error', message: (JSON.parse(line) as { message: string }).message, kind, retryAt: null }]);
  });

  it('reads an exhausted quota (OpenAI insufficient_quota, no credit left) as a rate limit that sets the account aside for a day', () => {
    const now = () => new Date('2026-11-26T12:05:00.000Z');
    expect(parseAll([LINES.quota], now)).toEqual([{ type: 'error', message: 'Quota exceeded. Check your plan and billing details.', kind: 'rate_limit', retryAt: '2026-11-27T12:05:00.000Z' }]);
  });

  it('reads a ChatGPT plan without Codex (usage_not_included) as a rate limit that sets the account aside for a day, as no credit does', () => {
    const now = () => new Date('2026-11-26T12:05:00.000Z');
    const message = 'To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.';
    expect(parseAll([JSON.stringify({ type: 'error', message })], now)).toEqual([{ type: 'error', message, kind: 'rate_limit', retryAt: '2026-11-27T12:05:00.000Z' }]);
  });

  it("reads when a usage limit resets from codex's local-time wording: a time today, or a date", () => {
    const now = () => new Date(2026, 10, 26, 12, 5);
    expect(parseAll([LINES.usageLimitToday], now)).toMatchObject([{ kind: 'rate_limit', retryAt: new Date(2026, 10, 26, 14, 7).toISOString() }]);
    expect(parseAll([LINES.usageLimitLater], now)).toMatchObject([{ kind: 'rate_limit', retryAt: new Date(2026, 10, 28, 19, 40).toISOString() }]);
    const atCapacity = JSON.stringify({ type: 'error', message: 'Model gpt-5.5 is at capacity. Please try a different model. Try again in 5m.' });
    expect(parseAll([atCapacity], now)).toMatchObject([{ kind: 'rate_limit', retryAt: new Date(2026, 10, 26, 12, 10).toISOString() }]);
  });

  it('reports a failed turn once (codex repeats the error event in turn.failed); a retry notice is not an error', () => {
    expect(parseAll([LINES.reconnecting, LINES.disconnected, LINES.disconnectedFailed])).toEqual([
      { type: 'message', role: 'system', text: 'Reconnecting... 1/1 (stream disconnected before completion: stream closed before response.completed)' },
      { type: 'error', message: 'stream disconnected before completion: stream closed before response.completed', kind: 'server', retryAt: null },
      { type: 'result', ok: false, text: 'stream disconnected before completion: stream closed before response.completed' },
    ]);
    expect(parseAll([LINES.disconnectedFailed])).toEqual([
      { type: 'error', message: 'stream disconnected before completion: stream closed before response.completed', kind: 'server', retryAt: null },
      { type: 'result', ok: false, text: 'stream disconnected before completion: stream closed before response.completed' },
    ]);
  });

  it('gives no events, and never throws, for lines that are not events it knows', () => {
    const garbage = [
      '',
      'not json',
      '{',
      'null',
      '42',
      '[]',
      'WARNING: proceeding, even though we could not create PATH aliases',
      '{"type":"future.event","payload":1}',
      '{"type":"turn.completed"}',
      '{"type":"turn.completed","usage":{"input_tokens":"many"}}',
      '{"type":"item.completed","item":null}',
      '{"type":"item.completed","item":{"id":"item_2","type":"reasoning","text":"**Thinking**"}}',
      '{"type":"item.started","item":{"id":"item_3","type":"todo_list","items":[]}}',
      '{"type":"item.updated","item":{"id":"item_0","type":"file_change","changes":[],"status":"in_progress"}}',
      '{"type":"error"}',
      `{"type":"item.completed","item":{"id":"x","type":"agent_message","text":"${'a'.repeat(100_000)}`,
    ];
    const parser = createCodexParser();
    for (const line of garbage) expect(parser.parseLine(line), line.slice(0, 80)).toEqual([]);
  });
});

/** The variable the provider entry names as holding its key (not AGENTED_…: the worker strips those). */
const KEY_VARIABLE = 'STAND_IN_OPENAI_KEY';
const KEY = 'sk-stand-in-0123456789';

interface CodexUser {
  standIn: StandIn;
  workingDirectory: string;
  env: Record<string, string | undefined>;
}

/** A user whose codex talks to the stand-in (writeCodexConfig: its provider entry in `$CODEX_HOME/config.toml`). */
async function codexUser(respond: (request: RecordedRequest, index: number) => OpenAiReply): Promise<CodexUser> {
  const standIn = await startOpenAiStandIn(respond);
  cleanups.push(() => standIn.close());
  const home = makeTempDir('agented-codex-home-');
  const work = makeTempDir('agented-codex-work-');
  cleanups.push(home.remove, work.remove);
  const codexHome = path.join(home.dir, '.codex');
  fs.mkdirSync(codexHome);
  writeCodexConfig(codexHome, standIn, KEY_VARIABLE);
  return { standIn, workingDirectory: work.dir, env: { HOME: home.dir, CODEX_HOME: codexHome, [KEY_VARIABLE]: KEY, PATH: process.env.PATH } };
}

function runCodex(user: CodexUser, overrides: Partial<Invocation> = {}): { agent: AgentProcess; lines: { stream: OutputStream; text: string }[] } {
  const lines: { stream: OutputStream; text: string }[] = [];
  const agent = startAgentProcess({
    executable: path.join(agentClisBin(), 'codex'),
    adapter: codexAdapter,
    invocation: { prompt: 'Say hello.', model: 'gpt-stand-in', permissionMode: 'read-only', workingDirectory: user.workingDirectory, env: user.env, ...overrides },
    onLine: (stream, text) => lines.push({ stream, text }),
  });
  cleanups.push(() => agent.stop({ graceMs: 500 }));
  return { agent, lines };
}

/** The text of the last user message a Responses request carries. */
function lastUserText(body: unknown): string | undefined {
  const input = (body as { input?: { role?: string; content?: { text?: string }[] }[] }).input ?? [];
  return input.filter((item) => item.role === 'user').at(-1)?.content?.at(-1)?.text;
}

const WRITE_NOTE = { functionCall: { name: 'exec_command', arguments: { cmd: "printf 'written by codex' > note.txt" } } };

describe('codex reset times', () => {
  it('reads a relative wait, and one no date can hold as no reset time rather than throwing', () => {
    const now = new Date('2026-11-26T12:00:00.000Z');
    expect(retryTimeOf('We are at capacity. Try again in 5m.', now)).toBe('2026-11-26T12:05:00.000Z');
    expect(retryTimeOf("You've hit your usage limit. Try again in 99999999999 days.", now)).toBeNull();
    expect(retryTimeOf("You've hit your usage limit. Try again at Nov 28th, 275761 7:40 PM.", now)).toBeNull();
  });
});

describe('codex exec, the real CLI, against a stand-in Responses API', () => {
  it('answers a prompt: message, usage, ok result; the prompt arrives as one argument, the model as given', { timeout: 20_000 }, async () => {
    const user = await codexUser(() => ({ text: 'Hello from the stand-in.' }));
    const prompt = `--version "quoted" $(touch injected) ; echo 'done'`;
    const exit = await runCodex(user, { prompt }).agent.done;

    expect(exit).toMatchObject({ code: 0, signal: null, ok: true, reason: null });
    expect(ofType(exit.events, 'message')).toContainEqual({ type: 'message', role: 'assistant', text: 'Hello from the stand-in.' });
    const [usage] = ofType(exit.events, 'usage');
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.outputTokens).toBeGreaterThan(0);
    expect(usage?.costUsd).toBeNull();
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Hello from the stand-in.' });

    expect(user.standIn.requests).toHaveLength(1);
    const [request] = user.standIn.requests;
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.body).toMatchObject({ model: 'gpt-stand-in', stream: true });
    expect(lastUserText(request?.body)).toBe(prompt);
    expect(fs.existsSync(path.join(user.workingDirectory, 'injected'))).toBe(false);
  });

  it('passes a model that starts with a dash as the model, never as an option', { timeout: 20_000 }, async () => {
    const user = await codexUser(() => ({ text: 'Hello from the stand-in.' }));
    const exit = await runCodex(user, { model: '--help' }).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(user.standIn.requests[0]?.body).toMatchObject({ model: '--help' });
  });

  it("runs the model's shell call in the working directory with permission mode edit: the file is written", { timeout: 20_000 }, async () => {
    const user = await codexUser(toolThenText(WRITE_NOTE, 'Wrote note.txt.'));
    const exit = await runCodex(user, { prompt: 'Write note.txt.', permissionMode: 'edit' }).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(fs.readFileSync(path.join(user.workingDirectory, 'note.txt'), 'utf8')).toBe('written by codex');
    const [call] = ofType(exit.events, 'tool_call');
    expect(call).toMatchObject({ name: 'command_execution', input: { command: expect.stringContaining("printf 'written by codex' > note.txt") } });
    expect(ofType(exit.events, 'tool_result')).toEqual([{ type: 'tool_result', id: call?.id, output: '', isError: false }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Wrote note.txt.' });
    expect(user.standIn.requests).toHaveLength(2);
    expect(toolCallOutputs(user.standIn.requests[1]?.body).map((output) => output.call_id)).toEqual([STAND_IN_CALL_ID]);
  });

  it('applies a patch (the apply_patch tool codex gives gpt-5.5) with permission mode edit: a file change', { timeout: 20_000 }, async () => {
    const patch = '*** Begin Patch\n*** Add File: hello.txt\n+hi there\n*** End Patch\n';
    const user = await codexUser(toolThenText({ customToolCall: { name: 'apply_patch', input: patch } }, 'Added hello.txt.'));
    const exit = await runCodex(user, { prompt: 'Add hello.txt.', model: 'gpt-5.5', permissionMode: 'edit' }).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(fs.readFileSync(path.join(user.workingDirectory, 'hello.txt'), 'utf8')).toBe('hi there\n');
    const file = fs.realpathSync(path.join(user.workingDirectory, 'hello.txt'));
    const [call] = ofType(exit.events, 'tool_call');
    expect(call).toMatchObject({ name: 'file_change', input: { changes: [{ path: file, kind: 'add' }] } });
    expect(ofType(exit.events, 'tool_result')).toEqual([{ type: 'tool_result', id: call?.id, output: `add ${file}`, isError: false }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Added hello.txt.' });
  });

  it('keeps the shell call from writing with permission mode read-only: the sandbox refuses, the run still answers', { timeout: 20_000 }, async () => {
    const user = await codexUser(toolThenText(WRITE_NOTE, 'Could not write.'));
    const exit = await runCodex(user, { prompt: 'Write note.txt.', permissionMode: 'read-only' }).agent.done;

    expect(fs.existsSync(path.join(user.workingDirectory, 'note.txt'))).toBe(false);
    // The refusal as the model saw it. (Codex 0.171 does not always print the refused command as an item in --json,
    // so when it does, it must be a failed tool result; the provider's view is the dependable one.)
    const outputs = user.standIn.requests.flatMap((recorded) => toolCallOutputs(recorded.body));
    expect(outputs.map((output) => String(output.output))).toEqual([expect.stringMatching(/Read-only file system/)]);
    for (const result of ofType(exit.events, 'tool_result')) expect(result).toMatchObject({ isError: true, output: expect.stringMatching(/Read-only file system/) });
    expect(exit).toMatchObject({ code: 0, ok: true });
  });

  it.each([
    { status: 401, kind: 'auth', message: /401 Unauthorized: Incorrect API key provided/ },
    { status: 429, kind: 'rate_limit', message: /429 Too Many Requests/ },
    { status: 500, kind: 'server', message: /high demand/ },
  ] as const)('a provider answering $status fails the run at once with a $kind error', { timeout: 20_000 }, async ({ status, kind, message }) => {
    const user = await codexUser(() => ({ status }));
    const exit = await runCodex(user).agent.done;

    expect(exit).toMatchObject({ code: 1, ok: false });
    const errors = ofType(exit.events, 'error');
    expect(errors).toEqual([{ type: 'error', message: expect.stringMatching(message), kind, retryAt: null }]);
    expect(exit.reason).toBe(errors[0]?.message);
    expect(exit.events.at(-1)).toMatchObject({ type: 'result', ok: false });
    expect(user.standIn.requests).toHaveLength(1);
  });

  it('a usage limit with a reset time (the body ChatGPT sign-in gets) is a rate limit with retryAt, to the minute', { timeout: 20_000 }, async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    const body = { error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', plan_type: 'plus', resets_at: resetsAt } };
    const user = await codexUser(() => ({ status: 429, body }));
    const exit = await runCodex(user).agent.done;

    expect(exit.ok).toBe(false);
    const minute = new Date(resetsAt * 1000);
    minute.setSeconds(0, 0);
    expect(ofType(exit.events, 'error')).toEqual([
      { type: 'error', message: expect.stringMatching(/usage limit.*try again at/), kind: 'rate_limit', retryAt: minute.toISOString() },
    ]);
  });

  it('stop ends a run whose stream hangs: not ok, and nothing of its process group is left', { timeout: 20_000 }, async () => {
    const user = await codexUser(() => ({ hangAfterText: 'Thinking about' }));
    const { agent } = runCodex(user);
    await within(
      (async () => {
        while (user.standIn.requests.length === 0) await sleep(50);
      })(),
      15_000,
      'the request to the stand-in',
    );
    await sleep(300);
    await agent.stop({ graceMs: 500 });
    const exit = await within(agent.done, 5_000, 'the exit after stop');

    expect(exit.ok).toBe(false);
    expect(ofType(exit.events, 'result')).toEqual([]);
    expect(groupAlive(agent.pgid)).toBe(false);
  });
});
