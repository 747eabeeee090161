import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import { codexAdapter } from '../../../main/backends/adapters/codex.js';
import { codexUsageFile, findRollout, threadIdOf, tokenCountTokens } from '../../../main/backends/adapters/codex-usage.js';
import { startAgentProcess } from '../../../main/executions/agent-process.js';
import { followUsageFile, type RunningTokens } from '../../../main/executions/usage-file.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { startOpenAiStandIn, toolThenText, writeCodexConfig } from '../../helpers/stand-ins/openai.js';
import { listFiles, makeTempDir } from '../../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Lines as codex-cli 0.171.0 wrote them against the stand-in (the test below), shortened where marked.
const TOKEN_COUNT =
  '{"timestamp":"2026-12-04T03:18:40.903Z","ordinal":13,"type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":{"input_tokens":10083,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":8,"reasoning_output_tokens":0,"total_tokens":10091},"last_token_usage":{"input_tokens":10083,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":8,"reasoning_output_tokens":0,"total_tokens":10091},"last_usage_includes_reasoning":false,"model_context_window":258400},"rate_limits":{"limit_id":"codex","primary":null,"secondary":null}}}';
const USER_MESSAGE = '{"timestamp":"2026-12-04T03:18:40.689Z","ordinal":7,"type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"say token_count"}]}}';
const THREAD_STARTED = '{"type":"thread.started","thread_id":"01a23f0f-a8b6-7321-b1ef-64a4aecc9212"}';

describe('codex rollout lines', () => {
  it("reads a token count's running total of the session", () => {
    expect(tokenCountTokens(TOKEN_COUNT)).toEqual({ inputTokens: 10083, outputTokens: 8 });
  });

  it('reads nothing from other lines, a token count without info, or broken lines', () => {
    expect(tokenCountTokens(USER_MESSAGE)).toBeNull();
    expect(tokenCountTokens('{"type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{}}}')).toBeNull();
    expect(tokenCountTokens(TOKEN_COUNT.slice(0, 120))).toBeNull();
  });

  it('takes the thread id from thread.started, and nothing that could leave the sessions folder', () => {
    expect(threadIdOf(THREAD_STARTED)).toBe('01a23f0f-a8b6-7321-b1ef-64a4aecc9212');
    expect(threadIdOf('{"type":"thread.started","thread_id":"../../etc/passwd"}')).toBeNull();
    expect(threadIdOf('{"type":"turn.started"}')).toBeNull();
  });
});

describe('finding the rollout', () => {
  it("finds the thread's own file among other sessions of the same CODEX_HOME, also in the day before; null when it is not there yet", () => {
    const sessions = makeTempDir('agented-codex-sessions-');
    cleanups.push(sessions.remove);
    const put = (day: string, name: string) => {
      fs.mkdirSync(path.join(sessions.dir, day), { recursive: true });
      fs.writeFileSync(path.join(sessions.dir, day, name), '');
      return path.join(sessions.dir, day, name);
    };
    put('2026/11/30', 'rollout-2026-11-30T10-00-00-aaaaaaaa-0000-0000-0000-000000000001.jsonl');
    const yesterday = put('2026/11/30', 'rollout-2026-11-30T23-59-59-bbbbbbbb-0000-0000-0000-000000000002.jsonl');
    const today = put('2026/12/01', 'rollout-2026-12-01T00-00-01-cccccccc-0000-0000-0000-000000000003.jsonl');
    put('2026/12/01', 'rollout-2026-12-01T00-00-02-dddddddd-0000-0000-0000-000000000004.jsonl');

    expect(findRollout(sessions.dir, 'cccccccc-0000-0000-0000-000000000003')).toBe(today);
    expect(findRollout(sessions.dir, 'bbbbbbbb-0000-0000-0000-000000000002')).toBe(yesterday);
    expect(findRollout(sessions.dir, 'eeeeeeee-0000-0000-0000-000000000005')).toBeNull();
    expect(findRollout(path.join(sessions.dir, 'missing'), 'cccccccc-0000-0000-0000-000000000003')).toBeNull();
  });
});

describe('codex usage file, the real CLI, against a stand-in Responses API', () => {
  it("is the session rollout, with a token count per API call whose last is the turn's totals", { timeout: 60_000 }, async () => {
    const standIn = await startOpenAiStandIn(toolThenText({ functionCall: { name: 'exec_command', arguments: { cmd: 'cat notes.txt' } } }, 'The note says hello.'));
    cleanups.push(() => standIn.close());
    const home = makeTempDir('agented-codex-usage-home-');
    const work = makeTempDir('agented-codex-usage-work-');
    cleanups.push(home.remove, work.remove);
    writeCodexConfig(home.dir, standIn);
    fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'hello\n');
    const env = { HOME: home.dir, CODEX_HOME: home.dir, STAND_IN_OPENAI_KEY: 'sk-stand-in-0123456789', PATH: process.env.PATH };

    const reports: RunningTokens[] = [];
    const usageFile = followUsageFile(codexUsageFile, env, (tokens) => reports.push({ ...tokens }));
    cleanups.push(() => usageFile.close());
    const events: AgentEvent[] = [];
    const agent = startAgentProcess({
      executable: path.join(agentClisBin(), 'codex'),
      adapter: codexAdapter,
      invocation: { prompt: 'Read notes.txt', model: 'gpt-stand-in', permissionMode: 'read-only', workingDirectory: work.dir, env: { ...env, ...usageFile.env } },
      onLine: (stream, text, parsed) => {
        if (stream === 'stdout') usageFile.stdoutLine(text);
        events.push(...parsed);
      },
    });
    cleanups.push(() => agent.stop({ graceMs: 500 }));
    const exit = await agent.done;
    usageFile.close();
    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(standIn.requests.filter((request) => request.path === '/v1/responses')).toHaveLength(2);

    const [rollout, ...others] = listFiles(path.join(home.dir, 'sessions'));
    expect(others).toEqual([]);
    const counts = fs
      .readFileSync(rollout!, 'utf8')
      .split('\n')
      .map(tokenCountTokens)
      .filter((tokens) => tokens !== null);
    expect(counts).toHaveLength(2);
    expect(counts[1]!.inputTokens).toBeGreaterThan(counts[0]!.inputTokens);

    const totals = events.filter((event): event is Extract<AgentEvent, { type: 'usage' }> => event.type === 'usage');
    expect(totals).toHaveLength(1);
    expect(reports.at(-1)).toEqual(counts[1]);
    expect(reports.at(-1)).toEqual({ inputTokens: totals[0]?.inputTokens, outputTokens: totals[0]?.outputTokens });
  });
});
