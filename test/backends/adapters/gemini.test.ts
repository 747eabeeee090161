import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import type { Invocation } from '../../../main/backends/adapter.js';
import { createGeminiParser, geminiAdapter } from '../../../main/backends/adapters/gemini.js';
import { startAgentProcess, type AgentProcess, type OutputStream } from '../../../main/executions/agent-process.js';
import { groupAlive } from '../../../main/executions/process-group.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { functionResponses, googleError, quotaFailure, retryInfo, startGeminiStandIn, toolThenText, type GeminiReply } from '../../helpers/stand-ins/gemini.js';
import { startStandIn, writeSse, type RecordedRequest, type StandIn } from '../../helpers/stand-ins/server.js';
import { makeTempDir } from '../../helpers/temp.js';
import { sleep, within } from '../../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) => events.filter((event): event is Extract<AgentEvent, { type: T }> => event.type === type);

/** Every line through one parser, the events in order. */
function parseAll(lines: string[], now = () => new Date()): AgentEvent[] {
  const parser = createGeminiParser(now);
  return lines.flatMap((line) => parser.parseLine(line));
}

const invocation: Invocation = { prompt: '-n "$(rm -rf ~)"', model: null, permissionMode: 'edit', workingDirectory: '/work/repo', env: {} };

describe('gemini command line', () => {
  it('runs headless with stream-json events, the prompt one argument glued to --prompt, trusting the folder, in one process', () => {
    expect(geminiAdapter.commandLine(invocation)).toEqual({
      args: ['--prompt=-n "$(rm -rf ~)"', '--output-format', 'stream-json', '--approval-mode', 'auto_edit'],
      env: { GEMINI_CLI_TRUST_WORKSPACE: 'true', GEMINI_CLI_NO_RELAUNCH: 'true', NO_COLOR: '1' },
    });
  });

  it.each([
    ['read-only', 'default'],
    ['edit', 'auto_edit'],
    ['full', 'yolo'],
  ] as const)('permission mode %s is approval mode %s', (permissionMode, approvalMode) => {
    const { args } = geminiAdapter.commandLine({ ...invocation, permissionMode });
    expect(args[args.indexOf('--approval-mode') + 1]).toBe(approvalMode);
  });

  it('passes the model when the trigger sets one', () => {
    const { args } = geminiAdapter.commandLine({ ...invocation, model: 'gemini-2.5-pro' });
    expect(args.at(-1)).toBe('--model=gemini-2.5-pro');
  });
});

const NO_TOKENS = '"stats":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":0,"tool_calls":0,"models":{"gemini-2.5-flash":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0}}}';
const RATE_LIMIT_ADVICE = 'Please wait and try again later. To increase your limits, request a quota increase through AI Studio, or switch to another /auth method';

// Lines as gemini-cli 0.61.0 printed them against the stand-in (see the tests below), unless marked otherwise.
const LINES = {
  init: '{"type":"init","timestamp":"2026-11-26T12:19:34.779Z","session_id":"851c674b-11a0-4c15-9ec7-83ec5053da99","model":"gemini-2.5-flash"}',
  prompt: '{"type":"message","timestamp":"2026-11-26T12:19:34.786Z","role":"user","content":"Say hello."}',
  answerStart: '{"type":"message","timestamp":"2026-11-26T12:19:34.952Z","role":"assistant","content":"Hello from t","delta":true}',
  answerEnd: '{"type":"message","timestamp":"2026-11-26T12:19:34.958Z","role":"assistant","content":"he stand-in.","delta":true}',
  success:
    '{"type":"result","timestamp":"2026-11-26T12:19:35.057Z","status":"success","stats":{"total_tokens":152,"input_tokens":145,"output_tokens":7,"cached":0,"input":145,"duration_ms":279,"tool_calls":0,"models":{"gemini-2.5-flash":{"total_tokens":152,"input_tokens":145,"output_tokens":7,"cached":0,"input":145}}}}',
  writeFile:
    '{"type":"tool_use","timestamp":"2026-11-26T12:19:40.267Z","tool_name":"write_file","tool_id":"write_file__write_file_1795695580031_0","parameters":{"file_path":"note.txt","content":"written by gemini"}}',
  written: '{"type":"tool_result","timestamp":"2026-11-26T12:19:40.552Z","tool_id":"write_file__write_file_1795695580031_0","status":"success"}',
  afterToolStart: '{"type":"message","timestamp":"2026-11-26T12:19:40.591Z","role":"assistant","content":"Wrote no","delta":true}',
  afterToolEnd: '{"type":"message","timestamp":"2026-11-26T12:19:40.596Z","role":"assistant","content":"te.txt.","delta":true}',
  successAfterTool:
    '{"type":"result","timestamp":"2026-11-26T12:19:40.600Z","status":"success","stats":{"total_tokens":435,"input_tokens":409,"output_tokens":26,"cached":0,"input":409,"duration_ms":737,"tool_calls":1,"models":{"gemini-2.5-flash":{"total_tokens":435,"input_tokens":409,"output_tokens":26,"cached":0,"input":409}}}}',
  shell:
    '{"type":"tool_use","timestamp":"2026-11-26T12:17:01.945Z","tool_name":"run_shell_command","tool_id":"run_shell_command__run_shell_command_1795695421563_0","parameters":{"command":"echo hi > shell.txt; ls","description":"write"}}',
  shellOutput: '{"type":"tool_result","timestamp":"2026-11-26T12:17:02.576Z","tool_id":"run_shell_command__run_shell_command_1795695421563_0","status":"success","output":"shell.txt"}',
  notRegistered:
    '{"type":"tool_result","timestamp":"2026-11-26T12:07:33.445Z","tool_id":"write_file__write_file_1795694853265_0","status":"error","output":"Tool \\"write_file\\" not found. Did you mean one of: \\"read_file\\", \\"update_topic\\", \\"grep_search\\"?","error":{"type":"tool_not_registered","message":"Tool \\"write_file\\" not found. Did you mean one of: \\"read_file\\", \\"update_topic\\", \\"grep_search\\"?"}}',
  unauthorized: `{"type":"result","timestamp":"2026-11-26T12:19:44.857Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":401,\\"message\\":\\"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.\\",\\"status\\":\\"UNAUTHENTICATED\\"}}]"},${NO_TOKENS}}`,
  keyInvalid: `{"type":"result","timestamp":"2026-11-26T12:19:48.298Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":400,\\"message\\":\\"API key not valid. Please pass a valid API key.\\",\\"status\\":\\"INVALID_ARGUMENT\\",\\"details\\":[{\\"@type\\":\\"type.googleapis.com/google.rpc.ErrorInfo\\",\\"reason\\":\\"API_KEY_INVALID\\",\\"domain\\":\\"googleapis.com\\"}]}}]"},${NO_TOKENS}}`,
  perMinuteQuota: `{"type":"result","timestamp":"2026-11-26T12:19:52.713Z","status":"error","error":{"type":"unknown","message":"[API Error: You exceeded your current quota, please check your plan and billing details.\\nSuggested retry after 22s.]\\n${RATE_LIMIT_ADVICE}"},${NO_TOKENS}}`,
  dailyQuota: `{"type":"result","timestamp":"2026-11-26T12:20:00.597Z","status":"error","error":{"type":"unknown","message":"[API Error: You have exhausted your daily quota on this model.]\\n${RATE_LIMIT_ADVICE}"},${NO_TOKENS}}`,
  internal: `{"type":"result","timestamp":"2026-11-26T12:20:09.374Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":500,\\"message\\":\\"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting\\",\\"status\\":\\"INTERNAL\\"}}]"},${NO_TOKENS}}`,
  overloaded: `{"type":"result","timestamp":"2026-11-26T12:21:09.553Z","status":"error","error":{"type":"unknown","message":"[API Error: The model is overloaded. Please try again later.]"},${NO_TOKENS}}`,
  unreachable: `{"type":"result","timestamp":"2026-11-26T12:14:26.356Z","status":"error","error":{"type":"unknown","message":"[API Error: exception TypeError: fetch failed sending request]"},${NO_TOKENS}}`,
  // Shapes from packages/cli/src/nonInteractiveCli.ts (not provoked here): a warning, an error that does not end the run, and the result after an invalid stream.
  blocked: '{"type":"error","timestamp":"2026-11-26T12:30:00.000Z","severity":"warning","message":"Agent execution blocked: a BeforeModel hook said no"}',
  maxTurns: '{"type":"error","timestamp":"2026-11-26T12:30:00.000Z","severity":"error","message":"Maximum session turns exceeded"}',
  invalidStream: '{"type":"error","timestamp":"2026-11-26T12:30:00.000Z","severity":"error","message":"Model stream ended with an empty response."}',
  invalidStreamResult: `{"type":"result","timestamp":"2026-11-26T12:30:00.010Z","status":"error",${NO_TOKENS}}`,
};

const messageOf = (line: string) => (JSON.parse(line) as { error: { message: string } }).error.message;

describe('gemini parser', () => {
  it('reads a plain answer: the prompt, the deltas, the run total, an ok result with the whole answer', () => {
    expect(parseAll([LINES.init, LINES.prompt, LINES.answerStart, LINES.answerEnd, LINES.success])).toEqual([
      { type: 'message', role: 'user', text: 'Say hello.' },
      { type: 'message', role: 'assistant', text: 'Hello from t' },
      { type: 'message', role: 'assistant', text: 'he stand-in.' },
      { type: 'usage', inputTokens: 145, outputTokens: 7, costUsd: null },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
  });

  it('reads a negative token count as unknown, never as fewer tokens spent', () => {
    expect(parseAll([LINES.answerStart, LINES.success.replace('"output_tokens":7', '"output_tokens":-7')])).toEqual([
      { type: 'message', role: 'assistant', text: 'Hello from t' },
      { type: 'usage', inputTokens: 145, outputTokens: null, costUsd: null },
      { type: 'result', ok: true, text: 'Hello from t' },
    ]);
  });

  it("counts the thinking in the total (Google's thoughtsTokenCount, not in output_tokens) as output; a total that is no count leaves output_tokens", () => {
    const thinking = LINES.success.replaceAll('"total_tokens":152', '"total_tokens":1052');
    expect(parseAll([thinking])).toContainEqual({ type: 'usage', inputTokens: 145, outputTokens: 907, costUsd: null });
    for (const total of ['-1', '"many"', 'null']) {
      expect(parseAll([LINES.success.replaceAll('"total_tokens":152', `"total_tokens":${total}`)])).toContainEqual({ type: 'usage', inputTokens: 145, outputTokens: 7, costUsd: null });
    }
  });

  it('reads a tool call and its result by tool_id; the result text is what came after the last tool call', () => {
    expect(parseAll([LINES.prompt, LINES.answerStart, LINES.writeFile, LINES.written, LINES.afterToolStart, LINES.afterToolEnd, LINES.successAfterTool])).toEqual([
      { type: 'message', role: 'user', text: 'Say hello.' },
      { type: 'message', role: 'assistant', text: 'Hello from t' },
      { type: 'tool_call', id: 'write_file__write_file_1795695580031_0', name: 'write_file', input: { file_path: 'note.txt', content: 'written by gemini' } },
      { type: 'tool_result', id: 'write_file__write_file_1795695580031_0', output: '', isError: false },
      { type: 'message', role: 'assistant', text: 'Wrote no' },
      { type: 'message', role: 'assistant', text: 'te.txt.' },
      { type: 'usage', inputTokens: 409, outputTokens: 26, costUsd: null },
      { type: 'result', ok: true, text: 'Wrote note.txt.' },
    ]);
  });

  it("keeps a tool's output, and reads a refused call (a tool the approval mode leaves out) as an error result", () => {
    expect(parseAll([LINES.shell, LINES.shellOutput, LINES.notRegistered])).toEqual([
      { type: 'tool_call', id: 'run_shell_command__run_shell_command_1795695421563_0', name: 'run_shell_command', input: { command: 'echo hi > shell.txt; ls', description: 'write' } },
      { type: 'tool_result', id: 'run_shell_command__run_shell_command_1795695421563_0', output: 'shell.txt', isError: false },
      { type: 'tool_result', id: 'write_file__write_file_1795694853265_0', output: 'Tool "write_file" not found. Did you mean one of: "read_file", "update_topic", "grep_search"?', isError: true },
    ]);
  });

  it.each([
    ['401 UNAUTHENTICATED', LINES.unauthorized, 'auth'],
    ['400 API_KEY_INVALID (what Google answers a bad key)', LINES.keyInvalid, 'auth'],
    ['500 INTERNAL', LINES.internal, 'server'],
    ['503 overloaded', LINES.overloaded, 'server'],
    ['an unreachable provider', LINES.unreachable, 'server'],
  ] as const)('reads a failed run (%s): the usage, a %s error, a failed result with the message', (_what, line, kind) => {
    const message = messageOf(line);
    expect(parseAll([line])).toEqual([
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: null },
      { type: 'error', message, kind, retryAt: null },
      { type: 'result', ok: false, text: message },
    ]);
  });

  it("reads a per-minute rate limit's reset from the RetryInfo delay, counted from the line's own time", () => {
    expect(parseAll([LINES.perMinuteQuota])).toContainEqual({
      type: 'error',
      message: messageOf(LINES.perMinuteQuota),
      kind: 'rate_limit',
      retryAt: '2026-11-26T12:20:14.713Z',
    });
  });

  it('reads an exhausted daily quota as a rate limit until the next midnight, Pacific time, also across a DST change', () => {
    const at = (timestamp: string) => parseAll([LINES.dailyQuota.replace('2026-11-26T12:20:00.597Z', timestamp)]).find((event) => event.type === 'error');
    expect(at('2026-11-26T12:20:00.597Z')).toMatchObject({ kind: 'rate_limit', retryAt: '2026-11-27T08:00:00.000Z' });
    expect(at('2026-07-01T06:30:00.000Z')).toMatchObject({ retryAt: '2026-07-01T07:00:00.000Z' });
    // Clocks spring forward on 8 March 2026 at 2 AM: the day starts in PST and the next one in PDT.
    expect(at('2026-03-08T09:00:00.000Z')).toMatchObject({ retryAt: '2026-03-09T07:00:00.000Z' });
  });

  it("reads the delay in Google's own wording, and falls back to the parser's clock for a line without a time", () => {
    const line = JSON.stringify({ type: 'result', status: 'error', error: { type: 'unknown', message: '[API Error: You exceeded your current quota. Please retry in 10.5s. (Status: RESOURCE_EXHAUSTED)]' } });
    expect(parseAll([line], () => new Date('2026-11-26T12:00:00.000Z'))).toEqual([
      { type: 'error', message: '[API Error: You exceeded your current quota. Please retry in 10.5s. (Status: RESOURCE_EXHAUSTED)]', kind: 'rate_limit', retryAt: '2026-11-26T12:00:10.500Z' },
      { type: 'result', ok: false, text: '[API Error: You exceeded your current quota. Please retry in 10.5s. (Status: RESOURCE_EXHAUSTED)]' },
    ]);
  });

  it('a delay no date can hold is read as no reset time, not thrown', () => {
    const line = JSON.stringify({ type: 'result', status: 'error', error: { type: 'unknown', message: '[API Error: quota. Please retry in 99999999999999999999s. (Status: RESOURCE_EXHAUSTED)]' } });
    expect(parseAll([line])).toMatchObject([{ type: 'error', kind: 'rate_limit', retryAt: null }, { type: 'result', ok: false }]);
  });

  it('reads a warning as a system message, an error line as an error, and a result without its own error as failed', () => {
    expect(parseAll([LINES.blocked, LINES.maxTurns, LINES.invalidStream, LINES.invalidStreamResult])).toEqual([
      { type: 'message', role: 'system', text: 'Agent execution blocked: a BeforeModel hook said no' },
      { type: 'error', message: 'Maximum session turns exceeded', kind: 'other', retryAt: null },
      { type: 'error', message: 'Model stream ended with an empty response.', kind: 'other', retryAt: null },
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: null },
      { type: 'result', ok: false, text: null },
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
      'Warning: 256-color support not detected. Using a terminal with at least 256-color support is recommended for a better visual experience.',
      '{"type":"future_event","payload":1}',
      '{"type":"message","role":"assistant"}',
      '{"type":"message","role":"model","content":"hi"}',
      '{"type":"tool_use","tool_name":"write_file"}',
      '{"type":"tool_result","tool_id":"x","status":"maybe"}',
      '{"type":"error","message":"no severity"}',
      '{"type":"result","status":"done"}',
      '{"type":"result","status":"success","stats":{"input_tokens":"many","output_tokens":1}}',
      `{"type":"message","role":"assistant","content":"${'a'.repeat(100_000)}`,
    ];
    const parser = createGeminiParser();
    for (const line of garbage) expect(parser.parseLine(line), line.slice(0, 80)).toEqual([]);
  });
});

const KEY = 'stand-in-gemini-key';
const MODEL = 'gemini-2.5-flash';

interface GeminiUser {
  standIn: StandIn;
  workingDirectory: string;
  env: Record<string, string | undefined>;
}

/**
 * A user whose gemini talks to the stand-in: API-key auth chosen in
 * `~/.gemini/settings.json`, the base URL and key from the environment, as
 * the CLI documents (docs/reference/configuration.md). One attempt a call
 * (`general.maxAttempts`): the CLI otherwise retries a 429 or 5xx up to ten
 * times, backing off from 5 s to 30 s — minutes before a failure shows. No
 * usage statistics, so nothing leaves 127.0.0.1; TMPDIR inside the temp home
 * because the CLI writes an error report there for each failed call.
 */
async function geminiUser(respond: (request: RecordedRequest, index: number) => GeminiReply): Promise<GeminiUser> {
  return userOf(await startGeminiStandIn(respond));
}

function userOf(standIn: StandIn): GeminiUser {
  cleanups.push(() => standIn.close());
  const home = makeTempDir('agented-gemini-home-');
  const work = makeTempDir('agented-gemini-work-');
  cleanups.push(home.remove, work.remove);
  fs.mkdirSync(path.join(home.dir, '.gemini'));
  fs.writeFileSync(
    path.join(home.dir, '.gemini', 'settings.json'),
    JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 }, privacy: { usageStatisticsEnabled: false } }),
  );
  return {
    standIn,
    workingDirectory: work.dir,
    env: { HOME: home.dir, TMPDIR: home.dir, GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: standIn.url, PATH: process.env.PATH },
  };
}

interface GeminiRun {
  agent: AgentProcess;
  lines: { stream: OutputStream; text: string }[];
  /** The events so far, as the lines arrive. */
  events: AgentEvent[];
}

function runGemini(user: GeminiUser, overrides: Partial<Invocation> = {}): GeminiRun {
  const lines: GeminiRun['lines'] = [];
  const events: AgentEvent[] = [];
  const agent = startAgentProcess({
    executable: path.join(agentClisBin(), 'gemini'),
    adapter: geminiAdapter,
    invocation: { prompt: 'Say hello.', model: MODEL, permissionMode: 'read-only', workingDirectory: user.workingDirectory, env: user.env, ...overrides },
    onLine: (stream, text, parsed) => {
      lines.push({ stream, text });
      events.push(...parsed);
    },
  });
  cleanups.push(() => agent.stop({ graceMs: 500 }));
  return { agent, lines, events };
}

interface GenerateRequest {
  contents?: { role?: string; parts?: { text?: string }[] }[];
  tools?: { functionDeclarations?: { name: string }[] }[];
}

/** The text the last user turn of a generate request ends with (the CLI puts its session context before the prompt). */
function lastUserText(body: unknown): string | undefined {
  return (body as GenerateRequest).contents?.filter((content) => content.role === 'user').at(-1)?.parts?.at(-1)?.text;
}

/** The tools a generate request declares to the model. */
function declaredTools(body: unknown): string[] {
  return ((body as GenerateRequest).tools ?? []).flatMap((tool) => (tool.functionDeclarations ?? []).map((declaration) => declaration.name));
}

/**
 * A Gemini API whose model thinks before it answers, in one streamed response: its `usageMetadata` counts the
 * thinking apart from the answer, in `thoughtsTokenCount` (https://ai.google.dev/api/generate-content#UsageMetadata).
 */
function startThinkingStandIn(usage: { promptTokenCount: number; candidatesTokenCount: number; thoughtsTokenCount: number }): Promise<StandIn> {
  return startStandIn((request, response) => {
    if (request.path.includes(':countTokens')) {
      response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      response.end(JSON.stringify({ totalTokens: 10 }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    writeSse(response, {
      candidates: [{ content: { role: 'model', parts: [{ text: 'Thought it over.' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { ...usage, totalTokenCount: usage.promptTokenCount + usage.candidatesTokenCount + usage.thoughtsTokenCount },
      modelVersion: MODEL,
      responseId: 'thinking-1',
    });
    response.end();
  });
}

const WRITE_NOTE = ['write_file', { file_path: 'note.txt', content: 'written by gemini' }] as const;

describe('gemini, the real CLI, against a stand-in Gemini API', () => {
  it('answers a prompt: message, usage, ok result; the prompt arrives as one argument, the model as given', { timeout: 30_000 }, async () => {
    const user = await geminiUser(() => ({ text: 'Hello from the stand-in.' }));
    const prompt = `--version "quoted" $(touch injected) ; echo 'done'`;
    const exit = await runGemini(user, { prompt }).agent.done;

    expect(exit).toMatchObject({ code: 0, signal: null, ok: true, reason: null });
    expect(ofType(exit.events, 'message')).toEqual([
      { type: 'message', role: 'user', text: prompt },
      { type: 'message', role: 'assistant', text: 'Hello from t' },
      { type: 'message', role: 'assistant', text: 'he stand-in.' },
    ]);
    const [usage] = ofType(exit.events, 'usage');
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.outputTokens).toBeGreaterThan(0);
    expect(usage?.costUsd).toBeNull();
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Hello from the stand-in.' });

    expect(user.standIn.requests).toHaveLength(1);
    const [request] = user.standIn.requests;
    expect(request?.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
    expect(request?.headers['x-goog-api-key']).toBe(KEY);
    expect(lastUserText(request?.body)).toBe(prompt);
    expect(fs.existsSync(path.join(user.workingDirectory, 'injected'))).toBe(false);
  });

  it("counts the model's thinking as output tokens, as Google bills it", { timeout: 30_000 }, async () => {
    const user = userOf(await startThinkingStandIn({ promptTokenCount: 120, candidatesTokenCount: 5, thoughtsTokenCount: 900 }));
    const exit = await runGemini(user).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(ofType(exit.events, 'usage')).toEqual([{ type: 'usage', inputTokens: 120, outputTokens: 5 + 900, costUsd: null }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Thought it over.' });
  });

  it('passes a model that starts with a dash as the model, never as an option', { timeout: 30_000 }, async () => {
    const user = await geminiUser(() => ({ text: 'Hello from the stand-in.' }));
    const exit = await runGemini(user, { model: '--yolo' }).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(user.standIn.requests.map((request) => request.path)).toEqual(['/v1beta/models/--yolo:streamGenerateContent?alt=sse']);
  });

  it("writes the model's file in the working directory with permission mode edit", { timeout: 30_000 }, async () => {
    const user = await geminiUser(toolThenText(...WRITE_NOTE, 'Wrote note.txt.'));
    const exit = await runGemini(user, { prompt: 'Write note.txt.', permissionMode: 'edit' }).agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(fs.readFileSync(path.join(user.workingDirectory, 'note.txt'), 'utf8')).toBe('written by gemini');
    const [call] = ofType(exit.events, 'tool_call');
    expect(call).toMatchObject({ name: 'write_file', input: { file_path: 'note.txt', content: 'written by gemini' } });
    expect(ofType(exit.events, 'tool_result')).toEqual([{ type: 'tool_result', id: call?.id, output: '', isError: false }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Wrote note.txt.' });

    expect(user.standIn.requests).toHaveLength(2);
    expect(declaredTools(user.standIn.requests[0]?.body)).toContain('write_file');
    expect(declaredTools(user.standIn.requests[0]?.body)).not.toContain('run_shell_command');
    expect(functionResponses(user.standIn.requests[1]?.body)).toEqual([{ name: 'write_file', response: { output: expect.stringContaining('note.txt') } }]);
  });

  it('offers no tool that writes with permission mode read-only: a write the model asks for anyway is refused', { timeout: 30_000 }, async () => {
    const user = await geminiUser(toolThenText(...WRITE_NOTE, 'Could not write.'));
    const exit = await runGemini(user, { prompt: 'Write note.txt.', permissionMode: 'read-only' }).agent.done;

    expect(fs.existsSync(path.join(user.workingDirectory, 'note.txt'))).toBe(false);
    const tools = declaredTools(user.standIn.requests[0]?.body);
    expect(tools).toContain('read_file');
    for (const tool of ['write_file', 'replace', 'run_shell_command', 'web_fetch']) expect(tools).not.toContain(tool);
    expect(ofType(exit.events, 'tool_result')).toEqual([expect.objectContaining({ isError: true, output: expect.stringMatching(/Tool "write_file" not found/) })]);
    expect(exit).toMatchObject({ code: 0, ok: true });
  });

  it.each([
    { status: 401, body: undefined, kind: 'auth', message: /"code":401.*UNAUTHENTICATED/ },
    {
      status: 429,
      body: googleError(429, undefined, [quotaFailure('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', MODEL), retryInfo('22s')]),
      kind: 'rate_limit',
      message: /exceeded your current quota.*\nSuggested retry after 22s/,
    },
    { status: 500, body: undefined, kind: 'server', message: /"code":500.*INTERNAL/ },
  ] as const)('a provider answering $status fails the run at once with a $kind error', { timeout: 30_000 }, async ({ status, body, kind, message }) => {
    const user = await geminiUser(() => ({ status, body }));
    const { agent, lines } = runGemini(user);
    const exit = await agent.done;

    const resultLine = lines.find((line) => line.stream === 'stdout' && line.text.includes('"type":"result"'));
    const saidAt = Date.parse((JSON.parse(resultLine?.text ?? '{}') as { timestamp: string }).timestamp);
    // The CLI exits with the HTTP status as its exit code (truncated to a byte): 401 → 145.
    expect(exit).toMatchObject({ code: status % 256, ok: false });
    const errors = ofType(exit.events, 'error');
    expect(errors).toEqual([
      { type: 'error', message: expect.stringMatching(message), kind, retryAt: kind === 'rate_limit' ? new Date(saidAt + 22_000).toISOString() : null },
    ]);
    expect(exit.reason).toBe(errors[0]?.message);
    expect(exit.events.at(-1)).toMatchObject({ type: 'result', ok: false });
    expect(user.standIn.requests).toHaveLength(1);
  });

  it('stop ends a run whose stream hangs: no result, and nothing of its process group is left', { timeout: 30_000 }, async () => {
    const user = await geminiUser(() => ({ hangAfterText: 'Thinking about' }));
    const { agent, events } = runGemini(user);
    await within(
      (async () => {
        while (!events.some((event) => event.type === 'message' && event.role === 'assistant')) await sleep(50);
      })(),
      20_000,
      'the first words of the answer',
    );
    await agent.stop({ graceMs: 500 });
    const exit = await within(agent.done, 5_000, 'the exit after stop');

    expect(ofType(exit.events, 'message')).toContainEqual({ type: 'message', role: 'assistant', text: 'Thinking about' });
    // gemini-cli answers SIGINT (and SIGTERM, SIGHUP) by cleaning up and exiting 0 without a result
    // line (gracefulShutdown, packages/cli/src/utils/cleanup.ts), so the exit alone does not say the
    // run was cut short: the missing result does. The runner records its own stops either way.
    expect(ofType(exit.events, 'result')).toEqual([]);
    expect(groupAlive(agent.pgid)).toBe(false);
  });
});
