import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import type { Invocation } from '../../../main/backends/adapter.js';
import { claudeAdapter, createClaudeAdapter } from '../../../main/backends/adapters/claude.js';
import { startAgentProcess, type AgentProcess } from '../../../main/executions/agent-process.js';
import { groupAlive } from '../../../main/executions/process-group.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { startAnthropicStandIn, toolThenText, type AnthropicReply } from '../../helpers/stand-ins/anthropic.js';
import type { RecordedRequest, StandIn } from '../../helpers/stand-ins/server.js';
import { makeTempDir } from '../../helpers/temp.js';
import { sleep, within } from '../../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) => events.filter((event): event is Extract<AgentEvent, { type: T }> => event.type === type);

/** Every line through one parser, the events in order. */
function parseAll(lines: string[]): AgentEvent[] {
  const parser = claudeAdapter.createParser();
  return lines.flatMap((line) => parser.parseLine(line));
}

const invocation: Invocation = { prompt: '-n "$(rm -rf ~)"', model: null, permissionMode: 'edit', workingDirectory: '/work/repo', env: {} };
const asUser = createClaudeAdapter({ runsAsRoot: false });
const asRoot = createClaudeAdapter({ runsAsRoot: true });

describe('claude command line', () => {
  it('prints stream-json (verbose, as print mode requires), the prompt one argument after --; unattended: no updater, no nonessential traffic', () => {
    expect(asUser.commandLine(invocation)).toEqual({
      args: ['--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '-p', '--', '-n "$(rm -rf ~)"'],
      env: { DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    });
  });

  it('passes the model when the trigger sets one', () => {
    const { args } = asUser.commandLine({ ...invocation, model: 'claude-sonnet-4-5' });
    expect(args.slice(0, 5)).toEqual(['--output-format', 'stream-json', '--verbose', '--model', 'claude-sonnet-4-5']);
  });

  it.each([
    ['read-only', asUser, ['--permission-mode', 'dontAsk', '--disallowedTools', 'Edit', 'Write', 'NotebookEdit']],
    ['edit', asUser, ['--permission-mode', 'acceptEdits']],
    ['full', asUser, ['--permission-mode', 'bypassPermissions']],
    ['read-only', asRoot, ['--permission-mode', 'dontAsk', '--disallowedTools', 'Edit', 'Write', 'NotebookEdit']],
    ['edit', asRoot, ['--permission-mode', 'acceptEdits']],
    // Claude Code exits 1 on bypassPermissions as root: the tools that ask are allowed by name instead.
    ['full', asRoot, ['--permission-mode', 'acceptEdits', '--allowedTools', 'Bash', 'Edit', 'Write', 'NotebookEdit', 'WebFetch', 'WebSearch']],
  ] as const)('permission mode %s (%#)', (permissionMode, adapter, expected) => {
    const { args } = adapter.commandLine({ ...invocation, permissionMode });
    expect(args.slice(3, -3)).toEqual(expected);
    expect(args.slice(-3)).toEqual(['-p', '--', invocation.prompt]);
  });
});

// Lines as Claude Code 2.1.332 printed them against the stand-in (see the tests below), trimmed of fields the parser does not read (and the long permission notice shortened).
const LINES = {
  init: '{"type":"system","subtype":"init","cwd":"/tmp/tmp.vvVlblEVYA","session_id":"5190d8fb-5d44-4ad7-9a73-e81a00a0c595","tools":["Task","Bash","CronCreate","CronDelete"],"mcp_servers":[],"model":"claude-opus-5-5","permissionMode":"default","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.332","uuid":"6ff15383-9c15-42cc-a25f-1c734f8d8f96"}',
  answer:
    '{"type":"assistant","message":{"id":"msg_fb16741578822c589ab5935d","type":"message","role":"assistant","content":[{"type":"text","text":"Hello from the stand-in."}],"model":"claude-opus-5-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12255,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"5190d8fb-5d44-4ad7-9a73-e81a00a0c595","uuid":"1a5c80f8-7039-4209-8889-2e6d3585f8e9","request_id":"req_36ebd81abbe763a34340be53"}',
  answerResult:
    '{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":496,"num_turns":1,"result":"Hello from the stand-in.","stop_reason":"end_turn","session_id":"5190d8fb-5d44-4ad7-9a73-e81a00a0c595","total_cost_usd":0.04916,"usage":{"input_tokens":12255,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":7},"modelUsage":{"claude-opus-5-5":{"inputTokens":12255,"outputTokens":7,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.04916}},"permission_denials":[],"terminal_reason":"completed","uuid":"6fba3972-882f-4c4a-8bb3-70f72ec2ade7"}',
  writeCall:
    '{"type":"assistant","message":{"id":"msg_27e12ab312fbef8342058486","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_548f7be7570d664f56aca207","name":"Write","input":{"file_path":"/tmp/tmp.e6o3CaK3vp/out.txt","content":"written"}}],"model":"claude-opus-5-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12257,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"3f19689b-3518-4679-bbc3-71311b42f3d6","uuid":"2e946569-3d26-4d69-8402-e777c3a0799a","request_id":"req_074ae138cb5825aedbd1eef6"}',
  writeResult:
    '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_548f7be7570d664f56aca207","type":"tool_result","content":"File created successfully at: /tmp/tmp.e6o3CaK3vp/out.txt (file state is current in your context — no need to Read it back)"}]},"parent_tool_use_id":null,"session_id":"3f19689b-3518-4679-bbc3-71311b42f3d6","uuid":"4d44e145-9f44-4f42-954f-c99b5d534bbe","tool_use_result":{"type":"create","filePath":"/tmp/tmp.e6o3CaK3vp/out.txt","content":"written","structuredPatch":[],"originalFile":null,"userModified":false}}',
  done: '{"type":"assistant","message":{"id":"msg_c64aa4cbcb5de905732ba7b7","type":"message","role":"assistant","content":[{"type":"text","text":"done"}],"model":"claude-opus-5-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12354,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"3f19689b-3518-4679-bbc3-71311b42f3d6","uuid":"083148c6-6ed8-4d30-bcdc-50bef06cfc21","request_id":"req_c4a89435ba7161d88766fa07"}',
  doneResult:
    '{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":639,"num_turns":2,"result":"done","stop_reason":"end_turn","session_id":"3f19689b-3518-4679-bbc3-71311b42f3d6","total_cost_usd":0.098804,"usage":{"input_tokens":24611,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":18},"modelUsage":{"claude-opus-5-5":{"inputTokens":24611,"outputTokens":18,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.098804}},"permission_denials":[],"terminal_reason":"completed","uuid":"a5dc8601-ee37-4466-85a7-47e359d1660b"}',
  permissionDenied:
    '{"type":"system","subtype":"permission_denied","tool_name":"Write","tool_use_id":"toolu_40cef0c7d6f90801a3f7dcab","decision_reason_type":"mode","message":"Permission to use Write has been denied because Claude Code is running in don\'t ask mode.","uuid":"5a5abf9e-07a4-4421-9f95-8fa0dfac3c81","session_id":"36092838-ab63-415e-b84c-ee7be1b01cf8"}',
  deniedResult:
    '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Permission to use Write has been denied because Claude Code is running in don\'t ask mode.","is_error":true,"tool_use_id":"toolu_40cef0c7d6f90801a3f7dcab"}]},"parent_tool_use_id":null,"session_id":"36092838-ab63-415e-b84c-ee7be1b01cf8","uuid":"278aed3a-a3c1-4a0f-880d-c181db0596ee","tool_use_result":"Error: Permission to use Write has been denied because Claude Code is running in don\'t ask mode."}',
  unauthorized:
    '{"type":"assistant","message":{"id":"383e4e25-aac4-4855-8246-df9e3d1003bb","type":"message","role":"assistant","content":[{"type":"text","text":"Invalid API key · Fix external API key"}],"model":"<synthetic>","stop_reason":"stop_sequence","stop_sequence":"","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"ed9f0b21-160d-46ce-844b-9d857ab08555","uuid":"cb9ff9ce-a554-4a95-a1e4-8965fe296b1c","error":"authentication_failed","request_id":"req_2e701b43e7e402db37db778f","is_api_error_message":true,"api_error_status":401,"api_error_type":"authentication_error"}',
  unauthorizedResult:
    '{"type":"result","subtype":"success","is_error":true,"api_error_status":401,"api_error_type":"authentication_error","duration_ms":804,"num_turns":1,"result":"Invalid API key · Fix external API key","stop_reason":"stop_sequence","session_id":"ed9f0b21-160d-46ce-844b-9d857ab08555","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","uuid":"5afe5ec3-b898-46f7-8842-a6a13a4af3cc"}',
  tooManyRequests:
    '{"type":"assistant","message":{"id":"da6796e5-5eea-40eb-b215-a4015a3c28c7","type":"message","role":"assistant","content":[{"type":"text","text":"API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit"}],"model":"<synthetic>","stop_reason":"stop_sequence","stop_sequence":"","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"c5760807-63e1-40f5-899c-006235512654","uuid":"9596cdc6-b440-4584-a80f-3ba57ece3c7d","error":"rate_limit","request_id":"req_d0f81fb5a04be68b388ac4f7","is_api_error_message":true,"api_error_status":429,"api_error_type":"rate_limit_error"}',
  serverError:
    '{"type":"assistant","message":{"id":"46e91ef6-3b69-46f2-8f62-15964998b2d9","type":"message","role":"assistant","content":[{"type":"text","text":"API Error: 500 Internal server error. This is a server-side issue, usually temporary — try again in a moment. If it persists, check your inference gateway (127.0.0.1:46553)."}],"model":"<synthetic>","stop_reason":"stop_sequence","stop_sequence":"","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"1ce270aa-a920-458a-b176-0b3cb668121f","uuid":"deb964a0-1acb-4f0a-9436-e4d162cda031","error":"server_error","request_id":"req_9fd4a1c09381eca0dc8d95fb","is_api_error_message":true,"api_error_status":500,"api_error_type":"api_error"}',
  connectionRefused:
    '{"type":"assistant","message":{"id":"777aa899-19fa-4193-9479-b444f4851e44","type":"message","role":"assistant","content":[{"type":"text","text":"API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)"}],"model":"<synthetic>","stop_reason":"stop_sequence","stop_sequence":"","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"9fe67974-0ddc-4080-93ca-0c01a8db5aa2","uuid":"cf24ed79-4cf0-4954-822b-ae1322f30e8c","error":"server_error","is_api_error_message":true,"api_error":"connection_failed"}',
  usageLimitEvent:
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1795699271,"rateLimitType":"five_hour","isUsingOverage":false},"uuid":"8fcac0a7-4ade-48fb-b2b4-59738ab6f874","session_id":"3ce0d33d-0127-469f-8078-fcc72f300c72"}',
  usageLimit:
    '{"type":"assistant","message":{"id":"03fe6abc-c4b8-4e46-9f29-f6987a316820","type":"message","role":"assistant","content":[{"type":"text","text":"You\'ve hit your 5-hour limit · resets 1:21pm (UTC)"}],"model":"<synthetic>","stop_reason":"stop_sequence","stop_sequence":"","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"3ce0d33d-0127-469f-8078-fcc72f300c72","uuid":"4c3c692a-4529-49d0-91a0-49550e81fc6d","error":"rate_limit","request_id":"req_a1d992bda5f7aa04d64fa49c","is_api_error_message":true,"api_error_status":429,"api_error":"usage_limit_reached","api_error_params":{"rate_limit_info":{"status":"rejected","resetsAt":1795699271,"rateLimitType":"five_hour","isUsingOverage":false}},"api_error_type":"rate_limit_error"}',
  usageLimitResult:
    '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"api_error_type":"rate_limit_error","api_error":"usage_limit_reached","duration_ms":627,"num_turns":1,"result":"You\'ve hit your 5-hour limit · resets 1:21pm (UTC)","stop_reason":"stop_sequence","session_id":"3ce0d33d-0127-469f-8078-fcc72f300c72","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{},"permission_denials":[],"terminal_reason":"api_error","uuid":"c836c0fa-4837-4c5c-a03c-f35759dc34ff"}',
  aborted:
    '{"type":"assistant","message":{"id":"msg_e5d10395089757622ccd2c10","type":"message","role":"assistant","content":[{"type":"text","text":"partial"}],"model":"claude-opus-5-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12254,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"parent_tool_use_id":null,"session_id":"6972b906-1c3a-4f14-8b2c-1abaab19e1c2","uuid":"92fd5bac-246f-49f7-b8d5-8b0ccbc08cb7","request_id":"req_8bf1c0bdbb024e9bacbafd72","aborted":true}',
  interrupted:
    '{"type":"user","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]},"parent_tool_use_id":null,"session_id":"6972b906-1c3a-4f14-8b2c-1abaab19e1c2","uuid":"a4ffa777-d3c8-47c2-950c-c9faf92530fa"}',
  interruptedResult:
    '{"type":"result","subtype":"error_during_execution","is_error":true,"duration_ms":993,"num_turns":2,"stop_reason":null,"session_id":"6972b906-1c3a-4f14-8b2c-1abaab19e1c2","total_cost_usd":0.049055999999999995,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0},"modelUsage":{"claude-opus-5-5":{"inputTokens":12254,"outputTokens":2,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.049055999999999995}},"permission_denials":[],"terminal_reason":"aborted_streaming","errors":["[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null"],"uuid":"f4764dae-e916-4ef5-8d13-8d50e5ae9c4c"}',
};

const RESETS_AT = new Date(1795699271 * 1000).toISOString();

describe('claude parser', () => {
  it('reads a plain answer: the message, the run total as usage with cost, an ok result with the answer; init says nothing', () => {
    expect(parseAll([LINES.init, LINES.answer, LINES.answerResult])).toEqual([
      { type: 'message', role: 'assistant', text: 'Hello from the stand-in.' },
      // The running total from the message's usage (output counted so far), then the run's totals replacing it.
      { type: 'usage', inputTokens: 12255, outputTokens: 1, costUsd: null, provisional: true },
      { type: 'usage', inputTokens: 12255, outputTokens: 7, costUsd: 0.04916 },
      { type: 'result', ok: true, text: 'Hello from the stand-in.' },
    ]);
  });

  it('reads a tool call and its result with the same id, then the answer', () => {
    expect(parseAll([LINES.writeCall, LINES.writeResult, LINES.done, LINES.doneResult])).toEqual([
      { type: 'tool_call', id: 'toolu_548f7be7570d664f56aca207', name: 'Write', input: { file_path: '/tmp/tmp.e6o3CaK3vp/out.txt', content: 'written' } },
      { type: 'usage', inputTokens: 12257, outputTokens: 1, costUsd: null, provisional: true },
      {
        type: 'tool_result',
        id: 'toolu_548f7be7570d664f56aca207',
        output: 'File created successfully at: /tmp/tmp.e6o3CaK3vp/out.txt (file state is current in your context — no need to Read it back)',
        isError: false,
      },
      { type: 'message', role: 'assistant', text: 'done' },
      // Both calls so far: the first (12,257) and the second (12,354).
      { type: 'usage', inputTokens: 24611, outputTokens: 2, costUsd: null, provisional: true },
      { type: 'usage', inputTokens: 24611, outputTokens: 18, costUsd: 0.098804 },
      { type: 'result', ok: true, text: 'done' },
    ]);
  });

  it('counts each API call once in the running total: repeated and interleaved messages, hundreds of calls', () => {
    const message = (id: string, input: number, output: number) =>
      JSON.stringify({ type: 'assistant', message: { id, type: 'message', role: 'assistant', content: [{ type: 'text', text: 'x' }], usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: 10 } } });
    const parser = claudeAdapter.createParser();
    const running = (line: string) => parser.parseLine(line).filter((event) => event.type === 'usage');
    expect(running(message('msg_a', 100, 1))).toEqual([{ type: 'usage', inputTokens: 110, outputTokens: 1, costUsd: null, provisional: true }]);
    // The same call's next message repeats its usage: nothing new.
    expect(running(message('msg_a', 100, 1))).toEqual([]);
    // A subagent's call in between, then the first call grows.
    expect(running(message('msg_sub', 50, 5))).toEqual([{ type: 'usage', inputTokens: 170, outputTokens: 6, costUsd: null, provisional: true }]);
    expect(running(message('msg_a', 100, 9))).toEqual([{ type: 'usage', inputTokens: 170, outputTokens: 14, costUsd: null, provisional: true }]);
    let last: AgentEvent[] = [];
    for (let call = 0; call < 1_000; call += 1) last = running(message(`msg_${call}`, 1, 1));
    expect(last).toEqual([{ type: 'usage', inputTokens: 170 + 1_000 * 11, outputTokens: 14 + 1_000, costUsd: null, provisional: true }]);
  });

  it('reads a refused tool as an error result (the permission_denied notice repeats it)', () => {
    expect(parseAll([LINES.permissionDenied, LINES.deniedResult])).toEqual([
      { type: 'tool_result', id: 'toolu_40cef0c7d6f90801a3f7dcab', output: "Permission to use Write has been denied because Claude Code is running in don't ask mode.", isError: true },
    ]);
  });

  it('joins the text of a tool result given as blocks; counts cached input tokens as input', () => {
    const blocks = JSON.stringify({
      type: 'user',
      message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'one' }, { type: 'image', source: {} }, { type: 'text', text: 'two' }] }] },
    });
    const cached = JSON.stringify({
      type: 'result',
      subtype: 'success',
      is_error: false,
      result: 'ok',
      total_cost_usd: 0.01,
      usage: { input_tokens: 3, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 9 },
    });
    expect(parseAll([blocks, cached])).toEqual([
      { type: 'tool_result', id: 't1', output: 'one\ntwo', isError: false },
      { type: 'usage', inputTokens: 2103, outputTokens: 9, costUsd: 0.01 },
      { type: 'result', ok: true, text: 'ok' },
    ]);
  });

  it.each([
    ['401', LINES.unauthorized, 'auth'],
    ['429 with an API key (no reset time given)', LINES.tooManyRequests, 'rate_limit'],
    ['500', LINES.serverError, 'server'],
    ['a refused connection', LINES.connectionRefused, 'server'],
  ] as const)('reads Claude Code’s made-up error message for %s as a %s error, not as an answer', (_what, line, kind) => {
    const text = (JSON.parse(line) as { message: { content: { text: string }[] } }).message.content[0]?.text;
    expect(parseAll([line])).toEqual([{ type: 'error', message: text, kind, retryAt: null }]);
  });

  it('fails the result that says is_error with subtype "success", and reports the error once', () => {
    expect(parseAll([LINES.unauthorized, LINES.unauthorizedResult])).toEqual([
      { type: 'error', message: 'Invalid API key · Fix external API key', kind: 'auth', retryAt: null },
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { type: 'result', ok: false, text: 'Invalid API key · Fix external API key' },
    ]);
    // Without the message before it (a line lost or cut), the result alone still says what failed.
    expect(parseAll([LINES.unauthorizedResult])).toEqual([
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { type: 'error', message: 'Invalid API key · Fix external API key', kind: 'auth', retryAt: null },
      { type: 'result', ok: false, text: 'Invalid API key · Fix external API key' },
    ]);
  });

  it("reads a subscription's limit with its reset time (Unix seconds in rate_limit_event and the error's params)", () => {
    expect(parseAll([LINES.usageLimitEvent, LINES.usageLimit, LINES.usageLimitResult])).toEqual([
      { type: 'error', message: "You've hit your 5-hour limit · resets 1:21pm (UTC)", kind: 'rate_limit', retryAt: RESETS_AT },
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { type: 'result', ok: false, text: "You've hit your 5-hour limit · resets 1:21pm (UTC)" },
    ]);
    const withoutParams = JSON.stringify({ ...(JSON.parse(LINES.usageLimit) as object), api_error_params: undefined });
    expect(parseAll([LINES.usageLimitEvent, withoutParams])).toMatchObject([{ kind: 'rate_limit', retryAt: RESETS_AT }]);
  });

  it('a reset time no date can hold is read as no reset time, not thrown', () => {
    const event = LINES.usageLimitEvent.replace('1795699271', '99999999999999');
    const withoutParams = JSON.stringify({ ...(JSON.parse(LINES.usageLimit) as object), api_error_params: undefined });
    expect(parseAll([event, withoutParams])).toMatchObject([{ kind: 'rate_limit', retryAt: null }]);
  });

  it('reads a stopped run as failed: the partial answer, then the interruption as an error (the result may not follow)', () => {
    expect(parseAll([LINES.aborted, LINES.interrupted, LINES.interruptedResult])).toEqual([
      { type: 'message', role: 'assistant', text: 'partial' },
      { type: 'usage', inputTokens: 12254, outputTokens: 1, costUsd: null, provisional: true },
      { type: 'error', message: '[Request interrupted by user]', kind: 'other', retryAt: null },
      // modelUsage counts the aborted call that usage leaves out.
      { type: 'usage', inputTokens: 12254, outputTokens: 2, costUsd: 0.049055999999999995 },
      { type: 'result', ok: false, text: '[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null' },
    ]);
  });

  it('fails a result with an error subtype, its errors as the text', () => {
    const maxTurns = JSON.stringify({ type: 'result', subtype: 'error_max_turns', is_error: true, num_turns: 3, total_cost_usd: 0.2, usage: { input_tokens: 10, output_tokens: 2 } });
    const during = JSON.stringify({ type: 'result', subtype: 'error_during_execution', is_error: true, errors: ['tool crashed', 'gave up'] });
    expect(parseAll([maxTurns])).toEqual([
      { type: 'usage', inputTokens: 10, outputTokens: 2, costUsd: 0.2 },
      { type: 'result', ok: false, text: 'error_max_turns' },
    ]);
    expect(parseAll([during])).toEqual([{ type: 'result', ok: false, text: 'tool crashed\ngave up' }]);
  });

  it('reads a negative or unbounded cost or token count as unknown, never as less spent, and keeps the result', () => {
    const result = (fields: Record<string, unknown>) => JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'done', ...fields });
    expect(parseAll([result({ total_cost_usd: -5, usage: { input_tokens: -1000, output_tokens: 2 } })])).toEqual([
      { type: 'usage', inputTokens: null, outputTokens: 2, costUsd: null },
      { type: 'result', ok: true, text: 'done' },
    ]);
    expect(parseAll([result({ total_cost_usd: 0.1, modelUsage: { m: { inputTokens: 10, outputTokens: -3 } } })])).toEqual([
      { type: 'usage', inputTokens: 10, outputTokens: null, costUsd: 0.1 },
      { type: 'result', ok: true, text: 'done' },
    ]);
    // What JSON.stringify writes for a cost of NaN or Infinity.
    expect(parseAll(['{"type":"result","subtype":"success","is_error":false,"result":"done","total_cost_usd":null}'])).toEqual([{ type: 'result', ok: true, text: 'done' }]);
  });

  it('gives no events, and never throws, for lines that are not messages it knows', () => {
    const garbage = [
      '',
      'not json',
      '{',
      'null',
      '42',
      '"a string"',
      '[]',
      'Error: something went wrong at Object.<anonymous>',
      '{"type":"future_message","payload":1}',
      '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":500,"error_status":529,"error":"overloaded"}',
      '{"type":"assistant"}',
      '{"type":"assistant","message":null}',
      '{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"tool_use","name":"Bash"},42,null]}}',
      '{"type":"user","message":{"content":[{"type":"tool_result"},{"type":"text","text":"not a result"}]}}',
      '{"type":"result"}',
      '{"type":"result","subtype":"success","is_error":"no"}',
      '{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1795699271}}',
      '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}}',
      `{"type":"assistant","message":{"content":[{"type":"text","text":"${'a'.repeat(100_000)}`,
    ];
    const parser = claudeAdapter.createParser();
    for (const line of garbage) expect(parser.parseLine(line), line.slice(0, 80)).toEqual([]);
  });
});

const KEY = 'sk-ant-stand-in-0123456789';

interface ClaudeUser {
  standIn: StandIn;
  workingDirectory: string;
  env: Record<string, string | undefined>;
}

/**
 * A user whose Claude Code talks to the stand-in: a fresh HOME (no settings,
 * no login), ANTHROPIC_BASE_URL and a key (an API key, or a subscription's
 * OAuth token). Retries are off so a failing provider fails the run at once,
 * not after minutes of backoff.
 */
async function claudeUser(respond: (request: RecordedRequest, workingDirectory: string) => AnthropicReply, auth: 'api-key' | 'subscription' = 'api-key'): Promise<ClaudeUser> {
  const home = makeTempDir('agented-claude-home-');
  const work = makeTempDir('agented-claude-work-');
  cleanups.push(home.remove, work.remove);
  const standIn = await startAnthropicStandIn((request) => respond(request, work.dir));
  cleanups.push(() => standIn.close());
  return {
    standIn,
    workingDirectory: work.dir,
    env: {
      HOME: home.dir,
      PATH: process.env.PATH,
      ANTHROPIC_BASE_URL: standIn.url,
      ...(auth === 'api-key' ? { ANTHROPIC_API_KEY: KEY } : { CLAUDE_CODE_OAUTH_TOKEN: `sk-ant-oat01-${KEY}` }),
      CLAUDE_CODE_MAX_RETRIES: '0',
      DISABLE_AUTOUPDATER: '1',
    },
  };
}

function runClaude(user: ClaudeUser, overrides: Partial<Invocation> = {}): AgentProcess {
  const agent = startAgentProcess({
    executable: path.join(agentClisBin(), 'claude'),
    adapter: claudeAdapter,
    invocation: { prompt: 'Say hello.', model: null, permissionMode: 'read-only', workingDirectory: user.workingDirectory, env: user.env, ...overrides },
    onLine: () => undefined,
  });
  cleanups.push(() => agent.stop({ graceMs: 500 }));
  return agent;
}

/** The text blocks of the user messages a Messages request carries (Claude Code puts its reminders before the prompt). */
function userTexts(body: unknown): string[] {
  const messages = (body as { messages?: { role?: string; content?: string | { type?: string; text?: string }[] }[] }).messages ?? [];
  return messages
    .filter((message) => message.role === 'user')
    .flatMap((message) => (typeof message.content === 'string' ? [message.content] : (message.content ?? []).flatMap((block) => (block.type === 'text' && block.text ? [block.text] : []))));
}

describe('claude -p, the real CLI, against a stand-in Messages API', () => {
  it('answers a prompt: message, usage with cost, ok result; the prompt arrives as one argument, the model as given', { timeout: 20_000 }, async () => {
    const user = await claudeUser(() => ({ text: 'Hello from the stand-in.' }));
    const prompt = `--version "quoted" $(touch injected) ; echo 'done'`;
    const exit = await runClaude(user, { prompt, model: 'claude-stand-in-1' }).done;

    expect(exit).toMatchObject({ code: 0, signal: null, ok: true, reason: null });
    expect(ofType(exit.events, 'message')).toEqual([{ type: 'message', role: 'assistant', text: 'Hello from the stand-in.' }]);
    const usage = ofType(exit.events, 'usage').find((event) => !event.provisional);
    expect(usage?.inputTokens).toBeGreaterThan(0);
    expect(usage?.outputTokens).toBeGreaterThan(0);
    expect(usage?.costUsd).toEqual(expect.any(Number));
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Hello from the stand-in.' });

    // Only the one Messages call: nonessential traffic (telemetry, update checks) is off.
    expect(user.standIn.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/messages?beta=true']);
    const [request] = user.standIn.requests;
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.body).toMatchObject({ model: 'claude-stand-in-1', stream: true });
    expect(userTexts(request?.body).at(-1)).toBe(prompt);
    expect(fs.existsSync(path.join(user.workingDirectory, 'injected'))).toBe(false);
  });

  it('runs the Write tool with permission mode edit: the file is written, the call and its result are events', { timeout: 20_000 }, async () => {
    const user = await claudeUser((request, workingDirectory) =>
      toolThenText('Write', { file_path: path.join(workingDirectory, 'note.txt'), content: 'written by claude' }, 'Wrote note.txt.')(request),
    );
    const exit = await runClaude(user, { prompt: 'Write note.txt.', permissionMode: 'edit' }).done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(fs.readFileSync(path.join(user.workingDirectory, 'note.txt'), 'utf8')).toBe('written by claude');
    const [call] = ofType(exit.events, 'tool_call');
    expect(call).toMatchObject({ name: 'Write', input: { content: 'written by claude' } });
    expect(ofType(exit.events, 'tool_result')).toEqual([{ type: 'tool_result', id: call?.id, output: expect.stringMatching(/^File created successfully/), isError: false }]);
    expect(exit.events.at(-1)).toEqual({ type: 'result', ok: true, text: 'Wrote note.txt.' });
    expect(user.standIn.requests).toHaveLength(2);
  });

  it('refuses the Write tool with permission mode read-only: nothing written, an error result, the run still answers', { timeout: 20_000 }, async () => {
    const user = await claudeUser((request, workingDirectory) => toolThenText('Write', { file_path: path.join(workingDirectory, 'note.txt'), content: 'x' }, 'Could not write.')(request));
    const exit = await runClaude(user, { prompt: 'Write note.txt.', permissionMode: 'read-only' }).done;

    expect(fs.existsSync(path.join(user.workingDirectory, 'note.txt'))).toBe(false);
    expect(ofType(exit.events, 'tool_result')).toEqual([expect.objectContaining({ isError: true, output: expect.stringMatching(/Write/) })]);
    expect(exit).toMatchObject({ code: 0, ok: true });
  });

  it('runs any shell command with permission mode full (as root too, where bypassPermissions is refused)', { timeout: 20_000 }, async () => {
    const command = `node -e "require('fs').writeFileSync('made-by-node', String(process.pid))"`;
    const user = await claudeUser(toolThenText('Bash', { command, description: 'Write a file with node' }, 'Ran it.'));
    const exit = await runClaude(user, { prompt: 'Run it.', permissionMode: 'full' }).done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(fs.existsSync(path.join(user.workingDirectory, 'made-by-node'))).toBe(true);
    expect(ofType(exit.events, 'tool_result')).toEqual([expect.objectContaining({ isError: false })]);
  });

  it.each([
    { status: 401, kind: 'auth', message: /Invalid API key/ },
    { status: 429, kind: 'rate_limit', message: /429.*rate limit/ },
    { status: 500, kind: 'server', message: /500 Internal server error/ },
  ] as const)('a provider answering $status fails the run at once with a $kind error', { timeout: 20_000 }, async ({ status, kind, message }) => {
    const user = await claudeUser(() => ({ status }));
    const exit = await runClaude(user).done;

    expect(exit).toMatchObject({ code: 1, ok: false });
    const errors = ofType(exit.events, 'error');
    expect(errors).toEqual([{ type: 'error', message: expect.stringMatching(message), kind, retryAt: null }]);
    expect(exit.reason).toBe(errors[0]?.message);
    expect(ofType(exit.events, 'message')).toEqual([]);
    expect(exit.events.at(-1)).toMatchObject({ type: 'result', ok: false });
    expect(user.standIn.requests).toHaveLength(1);
  });

  it("a subscription's limit (Anthropic's unified rate-limit headers) is a rate limit with retryAt", { timeout: 20_000 }, async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    const headers = {
      'anthropic-ratelimit-unified-status': 'rejected',
      'anthropic-ratelimit-unified-reset': String(resetsAt),
      'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    };
    const user = await claudeUser(() => ({ status: 429, headers }), 'subscription');
    const exit = await runClaude(user).done;

    expect(exit).toMatchObject({ code: 1, ok: false });
    expect(ofType(exit.events, 'error')).toEqual([
      { type: 'error', message: expect.stringMatching(/limit/), kind: 'rate_limit', retryAt: new Date(resetsAt * 1000).toISOString() },
    ]);
    expect(user.standIn.requests[0]?.headers.authorization).toBe(`Bearer sk-ant-oat01-${KEY}`);
  });

  it('stop ends a run whose stream hangs: not ok, and nothing of its process group is left', { timeout: 20_000 }, async () => {
    const user = await claudeUser(() => ({ hangAfterText: 'Thinking about' }));
    const agent = runClaude(user);
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

    // Claude Code exits 0 on SIGINT, sometimes before printing its result; the interruption it does print is an error event.
    expect(exit).toMatchObject({ code: 0, signal: null, ok: false });
    expect(ofType(exit.events, 'error')).toEqual([{ type: 'error', message: '[Request interrupted by user]', kind: 'other', retryAt: null }]);
    expect(ofType(exit.events, 'result').filter((result) => result.ok)).toEqual([]);
    expect(groupAlive(agent.pgid)).toBe(false);
  });
});

