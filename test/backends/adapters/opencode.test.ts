import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import type { Invocation } from '../../../main/backends/adapter.js';
import { createOpencodeParser, opencodeAdapter, retryTimeOf } from '../../../main/backends/adapters/opencode.js';
import { startAgentProcess, type AgentProcess } from '../../../main/executions/agent-process.js';
import { groupAlive } from '../../../main/executions/process-group.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { startAnthropicStandIn, toolThenText, type AnthropicReply } from '../../helpers/stand-ins/anthropic.js';
import { INSUFFICIENT_QUOTA } from '../../helpers/stand-ins/openai.js';
import type { RecordedRequest, StandIn } from '../../helpers/stand-ins/server.js';
import { makeTempDir } from '../../helpers/temp.js';
import { sleep, within } from '../../helpers/time.js';

const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) => events.filter((event): event is Extract<AgentEvent, { type: T }> => event.type === type);

function parseAll(lines: string[]): AgentEvent[] {
  const parser = createOpencodeParser();
  return lines.flatMap((line) => parser.parseLine(line));
}

const invocation: Invocation = { prompt: '-n  "$(rm -rf ~)" -- done', model: null, permissionMode: 'edit', workingDirectory: '/work/repo', env: {} };

/**
 * The message `opencode run` builds from its `--message` words: each as yargs reads it (one pair of matching quotes
 * around it stripped), joined with a space, a word with a space in it quoted.
 */
function messageOf(args: string[]): string {
  return args
    .filter((arg) => arg.startsWith('--message='))
    .map((arg) => arg.slice('--message='.length))
    .map((word) => (/^(["']).*\1$|^["']$/s.test(word) ? word.slice(1, -1) : word))
    .map((word) => (word.includes(' ') ? `"${word.replace(/"/g, '\\"')}"` : word))
    .join(' ');
}

describe('opencode command line', () => {
  it('runs run with JSON events, the session named after the prompt, warnings on stderr, in the working directory', () => {
    const { args, env } = opencodeAdapter.commandLine(invocation);
    expect(args.slice(0, args.findIndex((arg) => arg.startsWith('--message=')))).toEqual(['run', '--format', 'json', '--title=', '--print-logs', '--log-level', 'WARN']);
    expect(env).toMatchObject({ PWD: '/work/repo', OPENCODE_DISABLE_AUTOUPDATE: '1', OPENCODE_DISABLE_SHARE: '1' });
  });

  it.each([
    '-n  "$(rm -rf ~)" -- done',
    'Fix "the" bug\nin  two lines\twith a tab ',
    ' leading and trailing  ',
    '',
    'one',
    `"quoted" 'single' " "" ''' Review PR 42 -5`,
  ])('passes the prompt as --message words that opencode joins back into exactly the prompt: %j', (prompt) => {
    expect(messageOf(opencodeAdapter.commandLine({ ...invocation, prompt }).args)).toBe(prompt);
  });

  it('passes the model as opencode names it, provider/model', () => {
    const { args } = opencodeAdapter.commandLine({ ...invocation, model: 'anthropic/claude-haiku-4-5' });
    expect(args).toContain('--model=anthropic/claude-haiku-4-5');
    expect(opencodeAdapter.commandLine(invocation).args.some((arg) => arg.startsWith('--model'))).toBe(false);
  });

  it.each([
    ['read-only', { edit: 'deny', bash: 'deny' }, { edit: 'deny', bash: 'deny' }],
    ['edit', { edit: 'allow', bash: 'deny' }, { bash: 'deny' }],
    ['full', { edit: 'allow', bash: 'allow', external_directory: 'allow' }, undefined],
  ] as const)('permission mode %s: %j over every config, its denials repeated on the built-in agents', (permissionMode, rules, agentRules) => {
    const { env } = opencodeAdapter.commandLine({ ...invocation, permissionMode });
    expect(JSON.parse(env.OPENCODE_PERMISSION ?? '')).toEqual(rules);
    if (agentRules === undefined) {
      expect(env).not.toHaveProperty('OPENCODE_CONFIG_CONTENT');
    } else {
      const permission = { permission: agentRules };
      expect(JSON.parse(env.OPENCODE_CONFIG_CONTENT ?? '')).toEqual({ agent: { build: permission, plan: permission, general: permission, explore: permission } });
    }
  });
});

const SESSION = '"sessionID":"ses_de83c7c61ffeXaHeqY4Qak9BuE"';
const HEADERS_401 =
  '{"connection":"keep-alive","content-type":"application/json","date":"Thu, 26 Nov 2026 12:15:19 GMT","keep-alive":"timeout=5","request-id":"req_08673a7925a15d448ec06ce4","transfer-encoding":"chunked"}';

// Lines as opencode 1.18.33 printed them against the stand-in (see the tests below).
const LINES = {
  stepStart: `{"type":"step_start","timestamp":1795695026890,${SESSION},"part":{"id":"prt_217c3a286001fYkC9M5BrvR2hU","messageID":"msg_217c39459001WzaRT5yf2gYdig",${SESSION},"type":"step-start"}}`,
  text: `{"type":"text","timestamp":1795695026892,${SESSION},"part":{"id":"prt_217c3a28d0014lduUMzLr7MaNS","messageID":"msg_217c39459001WzaRT5yf2gYdig",${SESSION},"type":"text","text":"Hello from the stand-in.","time":{"start":1795695026829,"end":1795695026838}}}`,
  stop: `{"type":"step_finish","timestamp":1795695026893,${SESSION},"part":{"id":"prt_217c3a29f001TBm12GM23a5Ix1","reason":"stop","messageID":"msg_217c39459001WzaRT5yf2gYdig",${SESSION},"type":"step-finish","tokens":{"total":7630,"input":7623,"output":7,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0.022974}}`,
  write: `{"type":"tool_use","timestamp":1795695238058,${SESSION},"part":{"type":"tool","tool":"write","callID":"toolu_c3b1626622e8a29064b6774b","state":{"status":"completed","input":{"filePath":"/tmp/w/hello.txt","content":"hi\\n"},"output":"Wrote file successfully.","metadata":{"diagnostics":{},"filepath":"/tmp/w/hello.txt","exists":false,"truncated":false},"title":"tmp/w/hello.txt","time":{"start":1795695236711,"end":1795695236934}},"id":"prt_217c6d5c7001yI8n5j7bo1NT7F",${SESSION},"messageID":"msg_217c6b912001FLHjHJeBr90Cjd"}}`,
  toolCalls: `{"type":"step_finish","timestamp":1795695238059,${SESSION},"part":{"id":"prt_217c6d775001b4uPhmy10844vC","reason":"tool-calls","messageID":"msg_217c6b912001FLHjHJeBr90Cjd",${SESSION},"type":"step-finish","tokens":{"total":7641,"input":7625,"output":16,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0.023115}}`,
  wroteIt: `{"type":"text","timestamp":1795695238906,${SESSION},"part":{"id":"prt_217c6dd73001VI6vq8jqpssdmc","messageID":"msg_217c6d80d001Mvzf0VY26HMK6B",${SESSION},"type":"text","text":"Wrote it.","time":{"start":1795695238515,"end":1795695238596}}}`,
  cachedStop: `{"type":"step_finish","timestamp":1795695238913,${SESSION},"part":{"id":"prt_217c6de04001Huc8tRQ8g7NXmt","reason":"stop","messageID":"msg_217c6d80d001Mvzf0VY26HMK6B",${SESSION},"type":"step-finish","tokens":{"total":7715,"input":512,"output":3,"reasoning":40,"cache":{"write":200,"read":7000}},"cost":0.003181}}`,
  unavailableTool: `{"type":"tool_use","timestamp":1795695490825,${SESSION},"part":{"type":"tool","tool":"invalid","callID":"toolu_a18a649934135008d40aa857","state":{"status":"completed","input":{"tool":"bash","error":"Model tried to call unavailable tool 'bash'. Available tools: edit, glob, grep, invalid, read, skill, task, todowrite, webfetch, write."},"output":"The arguments provided to the tool are invalid: Model tried to call unavailable tool 'bash'. Available tools: edit, glob, grep, invalid, read, skill, task, todowrite, webfetch, write.","metadata":{"truncated":false},"title":"Invalid Tool","time":{"start":1795695490726,"end":1795695490758}},"id":"prt_217cab670001bR1ixUuEGeJEmA",${SESSION},"messageID":"msg_217caab15001XTJqU9jJl9PE6u"}}`,
  commandFailed: `{"type":"tool_use","timestamp":1795696767742,${SESSION},"part":{"type":"tool","tool":"bash","callID":"toolu_accd08eb08bc133aed5039df","state":{"status":"completed","input":{"command":"echo oops >&2; exit 3","description":"fail"},"output":"oops\\n","metadata":{"output":"oops\\n","exit":3,"truncated":false},"title":"echo oops >&2; exit 3","time":{"start":1795696764759,"end":1795696767364}},"id":"prt_217de26f7001Ks0bb032nnlaK1",${SESSION},"messageID":"msg_217de0a12001fKrnuE1cScYhw4"}}`,
  rejected: `{"type":"tool_use","timestamp":1795695491945,${SESSION},"part":{"type":"tool","tool":"bash","callID":"toolu_268ee39f7dd9353f9a8af0a0","state":{"status":"error","input":{"command":"echo hi > viabash.txt","description":"write file"},"error":"The user rejected permission to use this specific tool call.","time":{"start":1795695491403,"end":1795695491830}},"id":"prt_217cab935001iUSRNvT2tByldC",${SESSION},"messageID":"msg_217caa971001JnpwwK008jltTH"}}`,
  unauthorized: `{"type":"error","timestamp":1795695320212,${SESSION},"error":{"name":"APIError","data":{"message":"invalid x-api-key","statusCode":401,"isRetryable":false,"responseHeaders":${HEADERS_401},"responseBody":"{\\"type\\":\\"error\\",\\"error\\":{\\"type\\":\\"authentication_error\\",\\"message\\":\\"invalid x-api-key\\"}}","metadata":{"url":"http://127.0.0.1:35601/v1/messages"}}}}`,
  tooManyRequests: `{"type":"error","timestamp":1795695455099,${SESSION},"error":{"name":"APIError","data":{"message":"Number of request tokens has exceeded your per-minute rate limit","statusCode":429,"isRetryable":true,"responseHeaders":{"anthropic-ratelimit-requests-reset":"2030-01-01T00:00:00Z","connection":"keep-alive","content-type":"application/json","date":"Thu, 26 Nov 2026 12:17:34 GMT","keep-alive":"timeout=5","request-id":"req_bb9fca3a172e6135ae5e520b","retry-after":"30","transfer-encoding":"chunked"},"responseBody":"{\\"type\\":\\"error\\",\\"error\\":{\\"type\\":\\"rate_limit_error\\",\\"message\\":\\"Number of request tokens has exceeded your per-minute rate limit\\"}}","metadata":{"url":"http://127.0.0.1:42807/v1/messages"}}}}`,
  serverError: `{"type":"error","timestamp":1795695392770,${SESSION},"error":{"name":"APIError","data":{"message":"Internal server error","statusCode":500,"isRetryable":true,"responseHeaders":{"connection":"keep-alive","content-type":"application/json","request-id":"req_1e4313e3f028c0fec31960f2"},"responseBody":"{\\"type\\":\\"error\\",\\"error\\":{\\"type\\":\\"api_error\\",\\"message\\":\\"Internal server error\\"}}","metadata":{"url":"http://127.0.0.1:42429/v1/messages"}}}}`,
  unknownModel: `{"type":"error","timestamp":1795695788167,${SESSION},"error":{"name":"UnknownError","data":{"message":"Unexpected server error. Check server logs for details.","ref":"err_b97c85a5"}}}`,
};

describe('opencode parser', () => {
  it("reads a plain answer: the text, the step's usage with opencode's cost, an ok result with the text", () => {
    expect(parseAll([LINES.stepStart, LINES.text, LINES.stop])).toEqual([
      { type: 'message', role: 'assistant', text: 'Hello from the stand-in.' },
      { type: 'usage', inputTokens: 7623, outputTokens: 7, costUsd: 0.022974 },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
  });

  it("reads a tool call as a call and its result with the call's id; each step's usage counts, cached input and reasoning included; only the stop step is the result", () => {
    expect(parseAll([LINES.stepStart, LINES.write, LINES.toolCalls, LINES.stepStart, LINES.wroteIt, LINES.cachedStop])).toEqual([
      { type: 'tool_call', id: 'toolu_c3b1626622e8a29064b6774b', name: 'write', input: { filePath: '/tmp/w/hello.txt', content: 'hi\n' } },
      { type: 'tool_result', id: 'toolu_c3b1626622e8a29064b6774b', output: 'Wrote file successfully.', isError: false },
      { type: 'usage', inputTokens: 7625, outputTokens: 16, costUsd: 0.023115 },
      { type: 'message', role: 'assistant', text: 'Wrote it.' },
      { type: 'usage', inputTokens: 512 + 7000 + 200, outputTokens: 3 + 40, costUsd: 0.003181 },
      { type: 'result', ok: true, text: 'Wrote it.' },
    ]);
  });

  it('reads a negative or unbounded cost or token count as unknown, never as less spent, and keeps the result', () => {
    const negative = LINES.stop.replace('"cost":0.022974', '"cost":-0.5').replace('"reasoning":0', '"reasoning":-7');
    expect(parseAll([LINES.text, negative])).toEqual([
      { type: 'message', role: 'assistant', text: 'Hello from the stand-in.' },
      { type: 'usage', inputTokens: 7623, outputTokens: null, costUsd: null },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
    // What JSON.stringify writes for a cost of NaN or Infinity.
    expect(parseAll([LINES.stop.replace('"cost":0.022974', '"cost":null')])).toEqual([
      { type: 'usage', inputTokens: 7623, outputTokens: 7, costUsd: null },
      { type: 'result', ok: true, text: null },
    ]);
  });

  it('reads a call of a tool the model does not have (a denied one) as an error result', () => {
    expect(parseAll([LINES.unavailableTool])).toEqual([
      { type: 'tool_call', id: 'toolu_a18a649934135008d40aa857', name: 'invalid', input: expect.objectContaining({ tool: 'bash' }) },
      { type: 'tool_result', id: 'toolu_a18a649934135008d40aa857', output: expect.stringContaining("unavailable tool 'bash'"), isError: true },
    ]);
  });

  it('reads a command that exits non-zero as an error result', () => {
    expect(parseAll([LINES.commandFailed])).toEqual([
      { type: 'tool_call', id: 'toolu_accd08eb08bc133aed5039df', name: 'bash', input: { command: 'echo oops >&2; exit 3', description: 'fail' } },
      { type: 'tool_result', id: 'toolu_accd08eb08bc133aed5039df', output: 'oops\n', isError: true },
    ]);
  });

  it('reports a call refused because it would have asked as an error: the run ends there, without a result', () => {
    expect(parseAll([LINES.stepStart, LINES.rejected, LINES.toolCalls])).toEqual([
      { type: 'tool_call', id: 'toolu_268ee39f7dd9353f9a8af0a0', name: 'bash', input: { command: 'echo hi > viabash.txt', description: 'write file' } },
      { type: 'tool_result', id: 'toolu_268ee39f7dd9353f9a8af0a0', output: 'The user rejected permission to use this specific tool call.', isError: true },
      { type: 'error', message: expect.stringMatching(/^opencode refused the bash call because it would have asked for permission/), kind: 'other', retryAt: null },
      { type: 'usage', inputTokens: 7625, outputTokens: 16, costUsd: 0.023115 },
    ]);
  });

  it.each([
    ['401', LINES.unauthorized, 'invalid x-api-key (HTTP 401)', 'auth'],
    ['500', LINES.serverError, 'Internal server error (HTTP 500)', 'server'],
    ['an unknown model (opencode names it only in its log)', LINES.unknownModel, 'Unexpected server error. Check server logs for details.', 'other'],
  ] as const)('reads %s as an error of its kind and the failed result', (_what, line, message, kind) => {
    expect(parseAll([line])).toEqual([
      { type: 'error', message, kind, retryAt: null },
      { type: 'result', ok: false, text: message },
    ]);
  });

  it('reads a 429 as a rate limit that resets when retry-after says, counted from when opencode reported it', () => {
    expect(parseAll([LINES.tooManyRequests])).toEqual([
      { type: 'error', message: 'Number of request tokens has exceeded your per-minute rate limit (HTTP 429)', kind: 'rate_limit', retryAt: new Date(1795695455099 + 30_000).toISOString() },
      { type: 'result', ok: false, text: 'Number of request tokens has exceeded your per-minute rate limit (HTTP 429)' },
    ]);
  });

  it("reads OpenAI's answers to an account that cannot pay (insufficient_quota, usage_not_included) as a rate limit that sets the account aside for a day", () => {
    const at = 1795695455099;
    const error = (data: unknown) => JSON.stringify({ type: 'error', timestamp: at, sessionID: 'ses_1', error: { name: 'APIError', data } });
    const insufficientQuota = JSON.stringify(INSUFFICIENT_QUOTA);
    const dayLater = new Date(at + 24 * 3_600_000).toISOString();
    // An HTTP error: OpenAI's message, its code in the body.
    expect(parseAll([error({ message: 'You exceeded your current quota, please check your plan and billing details.', statusCode: 429, isRetryable: true, responseHeaders: { 'retry-after': '20' }, responseBody: insufficientQuota })])[0]).toEqual({
      type: 'error',
      message: 'Quota exceeded. Check your plan and billing details. (HTTP 429)',
      kind: 'rate_limit',
      retryAt: dayLater,
    });
    expect(parseAll([error({ message: 'Too Many Requests', statusCode: 429, responseBody: '{"error":{"type":"usage_not_included"}}' })])[0]).toMatchObject({
      message: 'To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus. (HTTP 429)',
      kind: 'rate_limit',
      retryAt: dayLater,
    });
    // A streamed error, which opencode words itself.
    expect(parseAll([error({ message: 'To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.', isRetryable: false })])[0]).toMatchObject({ kind: 'rate_limit', retryAt: dayLater });
    // Gemini's per-minute limit has OpenAI's words but no such code: an ordinary rate limit.
    const gemini = JSON.stringify({ error: { code: 429, message: 'You exceeded your current quota, please check your plan and billing details.', status: 'RESOURCE_EXHAUSTED' } });
    expect(parseAll([error({ message: 'You exceeded your current quota, please check your plan and billing details.', statusCode: 429, responseHeaders: { 'retry-after': '20' }, responseBody: gemini })])[0]).toMatchObject({
      kind: 'rate_limit',
      retryAt: new Date(at + 20_000).toISOString(),
    });
  });

  it("reads the reset time from retry-after-ms, retry-after as seconds or a date, else the latest of Anthropic's reset headers", () => {
    const at = Date.UTC(2026, 10, 26, 12, 0);
    expect(retryTimeOf({ 'retry-after-ms': '1500', 'retry-after': '2' }, at)).toBe('2026-11-26T12:00:01.500Z');
    expect(retryTimeOf({ 'retry-after': '0' }, at)).toBe('2026-11-26T12:00:00.000Z');
    expect(retryTimeOf({ 'retry-after': 'Thu, 26 Nov 2026 12:05:00 GMT' }, at)).toBe('2026-11-26T12:05:00.000Z');
    expect(
      retryTimeOf({ 'anthropic-ratelimit-requests-reset': '2026-11-26T12:00:20Z', 'anthropic-ratelimit-output-tokens-reset': '2026-11-26T12:01:00Z', date: 'Thu, 26 Nov 2027 12:00:00 GMT' }, at),
    ).toBe('2026-11-26T12:01:00.000Z');
    expect(retryTimeOf({ 'retry-after': 'soon' }, at)).toBeNull();
    expect(retryTimeOf({}, at)).toBeNull();
    // Values no date can hold are no reset time (they threw).
    expect(retryTimeOf({ 'retry-after-ms': '1e20' }, at)).toBeNull();
    expect(retryTimeOf({ 'retry-after': '1e20' }, at)).toBeNull();
  });

  it('classifies an auth failure opencode words itself, a rate limit or overload without a status, an error with odd details', () => {
    const error = (error: unknown) => JSON.stringify({ type: 'error', timestamp: 1795695455099, sessionID: 'ses_1', error });
    expect(parseAll([error({ name: 'ProviderAuthError', data: { providerID: 'anthropic', message: 'No API key' } })])[0]).toMatchObject({ kind: 'auth' });
    expect(parseAll([error({ name: 'UnknownError', data: { message: 'Too Many Requests' } })])[0]).toMatchObject({ kind: 'rate_limit', retryAt: null });
    expect(parseAll([error({ name: 'UnknownError', data: { message: 'Overloaded' } })])[0]).toMatchObject({ kind: 'server' });
    expect(parseAll([error({ name: 'MessageAbortedError' })])[0]).toEqual({ type: 'error', message: 'MessageAbortedError', kind: 'other', retryAt: null });
    const oddDetails = error({ name: 'APIError', data: { message: 'Internal server error', statusCode: '500', responseHeaders: 5 } });
    expect(parseAll([oddDetails])[0]).toEqual({ type: 'error', message: 'Internal server error', kind: 'server', retryAt: null });
  });

  it('gives no events, and never throws, for lines that are not events it knows', () => {
    const garbage = [
      '',
      'not json',
      '{',
      'null',
      '42',
      '[]',
      '"text"',
      '\u001b[93m\u001b[1m! \u001b[0mpermission requested: bash (echo hi > viabash.txt); auto-rejecting',
      'timestamp=2026-11-26T12:23:31.088Z level=WARN run=b968b1ba message="background dependency install failed"',
      '{"type":"future_event","part":{}}',
      '{"type":"reasoning","timestamp":1,"part":{"type":"reasoning","text":"Thinking"}}',
      '{"type":"text"}',
      '{"type":"text","part":{"text":42}}',
      '{"type":"tool_use","part":{"tool":"write","callID":"c1","state":{"status":"running","input":{}}}}',
      '{"type":"tool_use","part":{"tool":"write","callID":"c1","state":null}}',
      '{"type":"step_finish","part":{"reason":"stop","tokens":{"input":"many"},"cost":0}}',
      '{"type":"step_finish","part":{"reason":"stop"}}',
      '{"type":"error","error":{"name":"APIError"}}',
      '{"type":"error","timestamp":1,"error":"boom"}',
      `{"type":"text","part":{"text":"${'a'.repeat(100_000)}`,
    ];
    const parser = createOpencodeParser();
    for (const line of garbage) expect(parser.parseLine(line), line.slice(0, 80)).toEqual([]);
  });
});

const KEY = 'sk-ant-stand-in-0123456789';
const MODEL = 'anthropic/claude-haiku-4-5';

interface OpencodeUser {
  standIn: StandIn;
  workingDirectory: string;
  env: Record<string, string | undefined>;
}

/**
 * The user's home, shared by the runs as a real user's is: opencode sets up
 * its database there on the first run, which costs that run seconds.
 * Config, data, cache and state live under it. Nothing leaves 127.0.0.1: the
 * models list is the snapshot bundled in the binary (no refresh from
 * models.dev), and the npm bundled in opencode, which installs
 * @opencode-ai/plugin into the config folder in the background, works
 * offline and only logs a warning.
 */
let home: { dir: string; remove: () => void };
beforeAll(() => {
  home = makeTempDir('agented-opencode-home-');
});
afterAll(() => home.remove());

/**
 * A user whose opencode talks to the stand-in: the project's opencode.json
 * points the anthropic provider at it (https://opencode.ai/docs/providers/),
 * and the key is in ANTHROPIC_API_KEY. `PWD` is the worker's own folder, not
 * the working directory, as in the runner's environment.
 */
async function opencodeUser(
  context: TestContext,
  respond: (request: RecordedRequest, index: number) => AnthropicReply,
  projectConfig: Record<string, unknown> = {},
): Promise<OpencodeUser> {
  const standIn = await startAnthropicStandIn(respond);
  context.onTestFinished(() => standIn.close());
  const work = makeTempDir('agented-opencode-work-');
  context.onTestFinished(work.remove);
  const config = { $schema: 'https://opencode.ai/config.json', provider: { anthropic: { options: { baseURL: `${standIn.url}/v1` } } }, ...projectConfig };
  fs.writeFileSync(path.join(work.dir, 'opencode.json'), JSON.stringify(config));
  const under = (name: string) => path.join(home.dir, name);
  return {
    standIn,
    workingDirectory: work.dir,
    env: {
      HOME: home.dir,
      PWD: home.dir,
      PATH: process.env.PATH,
      XDG_CONFIG_HOME: under('.config'),
      XDG_DATA_HOME: under('.local/share'),
      XDG_CACHE_HOME: under('.cache'),
      XDG_STATE_HOME: under('.local/state'),
      ANTHROPIC_API_KEY: KEY,
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      npm_config_offline: 'true',
    },
  };
}

interface OpencodeRun {
  agent: AgentProcess;
  /** What opencode logged (warnings and errors), to show when an assertion fails. */
  stderr: string[];
}

function runOpencode(context: TestContext, user: OpencodeUser, overrides: Partial<Invocation> = {}): OpencodeRun {
  const stderr: string[] = [];
  const agent = startAgentProcess({
    executable: path.join(agentClisBin(), 'opencode'),
    adapter: opencodeAdapter,
    invocation: { prompt: 'Say hello.', model: MODEL, permissionMode: 'read-only', workingDirectory: user.workingDirectory, env: user.env, ...overrides },
    onLine: (stream, text) => {
      if (stream === 'stderr') stderr.push(text);
    },
  });
  context.onTestFinished(() => agent.stop({ graceMs: 500 }));
  return { agent, stderr };
}

/** The text of the last user message an Anthropic Messages request carries. */
function lastUserText(body: unknown): string | undefined {
  const messages = (body as { messages?: { role?: string; content?: string | { type?: string; text?: string }[] }[] }).messages ?? [];
  const content = messages.filter((message) => message.role === 'user').at(-1)?.content;
  return typeof content === 'string' ? content : content?.filter((block) => block.type === 'text').at(-1)?.text;
}

const WRITE_HELLO = toolThenText('write', { filePath: 'hello.txt', content: 'written by opencode\n' }, 'Wrote hello.txt.');

// One after the other: each run keeps two cores busy for seconds (opencode is a large Bun program).
describe('opencode run, the real CLI, against a stand-in Anthropic API', () => {
  it('answers a prompt: message, usage with cost, ok result; the prompt arrives exactly, the model as given, no title request', { timeout: 90_000 }, async (context) => {
    const user = await opencodeUser(context, () => ({ text: 'Hello from the stand-in.' }));
    const prompt = `--version  "quoted" $(touch injected) ; echo 'done' --\nsecond line`;
    const { agent, stderr } = runOpencode(context, user, { prompt });
    const exit = await agent.done;

    expect(exit, stderr.join('\n')).toMatchObject({ code: 0, signal: null, ok: true, reason: null });
    expect(ofType(exit.events, 'message')).toEqual([{ type: 'message', role: 'assistant', text: 'Hello from the stand-in.' }]);
    const [usage] = ofType(exit.events, 'usage');
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.outputTokens).toBeGreaterThan(0);
    expect(usage?.costUsd).toBeGreaterThan(0);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Hello from the stand-in.' });

    expect(user.standIn.requests).toHaveLength(1);
    const [request] = user.standIn.requests;
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.body).toMatchObject({ model: 'claude-haiku-4-5', stream: true });
    expect(lastUserText(request?.body)).toBe(prompt);
    expect(fs.existsSync(path.join(user.workingDirectory, 'injected'))).toBe(false);
  });

  it('passes a prompt with words that look like numbers as text: "Review PR 42" runs, exactly as written', { timeout: 90_000 }, async (context) => {
    const user = await opencodeUser(context, () => ({ text: 'Hello from the stand-in.' }));
    const prompt = `Review PR 42 (-5 lines, 1e3 0x10 .5 007) true --no-x --model=x -- = "quoted" 'single' " "" '`;
    const { agent, stderr } = runOpencode(context, user, { prompt });
    const exit = await agent.done;

    expect(exit, stderr.join('\n')).toMatchObject({ code: 0, ok: true });
    expect(lastUserText(user.standIn.requests[0]?.body)).toBe(prompt);
  });

  it('reads a model that starts with a dash as the model, never as an option', { timeout: 90_000 }, async (context) => {
    const user = await opencodeUser(context, () => ({ text: 'Hello from the stand-in.' }));
    // Read as an option, this would run the plan agent on opencode's default model.
    const { agent, stderr } = runOpencode(context, user, { model: '--agent=plan' });
    const exit = await agent.done;

    expect(exit.ok, stderr.join('\n')).toBe(false);
    expect(user.standIn.requests).toEqual([]);
  });

  it("runs the model's write call in the working directory (not the worker's PWD) with permission mode edit: the file is written", { timeout: 90_000 }, async (context) => {
    const user = await opencodeUser(context, WRITE_HELLO);
    const { agent, stderr } = runOpencode(context, user, { prompt: 'Write hello.txt.', permissionMode: 'edit' });
    const exit = await agent.done;

    expect(exit, stderr.join('\n')).toMatchObject({ code: 0, ok: true });
    expect(fs.readFileSync(path.join(user.workingDirectory, 'hello.txt'), 'utf8')).toBe('written by opencode\n');
    const [call] = ofType(exit.events, 'tool_call');
    expect(call).toMatchObject({ name: 'write', input: { filePath: 'hello.txt', content: 'written by opencode\n' } });
    expect(ofType(exit.events, 'tool_result')).toEqual([{ type: 'tool_result', id: call?.id, output: expect.stringMatching(/successfully/), isError: false }]);
    expect(ofType(exit.events, 'usage')).toHaveLength(2);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Wrote hello.txt.' });
  });

  it("keeps the write tool from the model with permission mode read-only, even when the project's opencode.json allows edits", { timeout: 90_000 }, async (context) => {
    const widening = { permission: { edit: 'allow', bash: 'allow' }, agent: { build: { permission: { edit: 'allow' } } } };
    const user = await opencodeUser(context, WRITE_HELLO, widening);
    const { agent, stderr } = runOpencode(context, user, { prompt: 'Write hello.txt.', permissionMode: 'read-only' });
    const exit = await agent.done;

    expect(fs.existsSync(path.join(user.workingDirectory, 'hello.txt'))).toBe(false);
    const tools = (user.standIn.requests[0]?.body as { tools?: { name: string }[] }).tools?.map((tool) => tool.name);
    expect(tools).toContain('read');
    expect(tools).not.toContain('write');
    expect(tools).not.toContain('bash');
    expect(ofType(exit.events, 'tool_result')).toEqual([expect.objectContaining({ isError: true, output: expect.stringMatching(/unavailable tool 'write'/) })]);
    expect(exit, stderr.join('\n')).toMatchObject({ code: 0, ok: true });
  });

  it.for([
    { status: 401, kind: 'auth', message: 'invalid x-api-key (HTTP 401)', requests: 1 },
    // opencode retries a 429 or a 5xx five times, waiting what retry-after says: 0 keeps the test short.
    { status: 500, kind: 'server', message: 'Internal server error (HTTP 500)', requests: 6 },
  ] as const)('a provider answering $status fails the run with a $kind error', { timeout: 90_000 }, async ({ status, kind, message, requests }, context) => {
    const user = await opencodeUser(context, () => ({ status, headers: { 'retry-after': '0' } }));
    const { agent, stderr } = runOpencode(context, user);
    const exit = await agent.done;

    expect(exit, stderr.join('\n')).toMatchObject({ code: 1, ok: false, reason: message });
    expect(ofType(exit.events, 'error')).toEqual([{ type: 'error', message, kind, retryAt: null }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: false, text: message });
    expect(user.standIn.requests).toHaveLength(requests);
  });

  it('a provider answering 429 fails the run with a rate limit that resets when the last retry-after says', { timeout: 90_000 }, async (context) => {
    // Five quick retries, then the answer opencode gives up on, as Anthropic words it.
    const user = await opencodeUser(context, (_request, index) => ({ status: 429, headers: { 'retry-after': index < 5 ? '0' : '30' } }));
    const started = Date.now();
    const { agent, stderr } = runOpencode(context, user);
    const exit = await agent.done;

    expect(exit, stderr.join('\n')).toMatchObject({ code: 1, ok: false });
    const [error] = ofType(exit.events, 'error');
    expect(error).toMatchObject({ kind: 'rate_limit', message: 'Number of request tokens has exceeded your per-minute rate limit (HTTP 429)' });
    const retryAt = Date.parse(error?.retryAt ?? '');
    expect(retryAt).toBeGreaterThanOrEqual(started + 30_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(user.standIn.requests).toHaveLength(6);
  });

  it('stop ends a run whose stream hangs: not ok, and nothing of its process group is left', { timeout: 90_000 }, async (context) => {
    const user = await opencodeUser(context, () => ({ hangAfterText: 'Thinking about' }));
    const { agent } = runOpencode(context, user);
    await within(
      (async () => {
        while (user.standIn.requests.length === 0) await sleep(50);
      })(),
      60_000,
      'the request to the stand-in',
    );
    await sleep(300);
    await agent.stop({ graceMs: 500 });
    const exit = await within(agent.done, 5_000, 'the exit after stop');

    // opencode ends at the first SIGINT, printing nothing more: text is only printed once its part is complete.
    expect(exit).toMatchObject({ signal: 'SIGINT', ok: false });
    expect(ofType(exit.events, 'result')).toEqual([]);
    expect(ofType(exit.events, 'message')).toEqual([]);
    expect(groupAlive(agent.pgid)).toBe(false);
  });
});
