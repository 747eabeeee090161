import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../../common/executions.js';
import { geminiAdapter } from '../../../main/backends/adapters/gemini.js';
import { apiResponseTokens, geminiUsageFile } from '../../../main/backends/adapters/gemini-usage.js';
import { startAgentProcess } from '../../../main/executions/agent-process.js';
import { followUsageFile, type RunningTokens } from '../../../main/executions/usage-file.js';
import { agentClisBin } from '../../helpers/agent-clis.js';
import { startGeminiStandIn, toolThenText } from '../../helpers/stand-ins/gemini.js';
import { makeTempDir } from '../../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A record as gemini-cli 0.61.0 wrote it against the stand-in (the test below), the resource and common attributes cut.
const API_RESPONSE = `{
  "hrTime": [
    1796354167,
    342000000
  ],
  "attributes": {
    "session.id": "2f687fbb-5645-49db-88d2-5920c8a451b4",
    "event.name": "gemini_cli.api_response",
    "event.timestamp": "2026-12-04T03:16:07.342Z",
    "model": "gemini-2.5-flash",
    "duration_ms": 185,
    "input_token_count": 146,
    "output_token_count": 14,
    "cached_content_token_count": 0,
    "thoughts_token_count": 0,
    "tool_token_count": 0,
    "total_token_count": 160,
    "status_code": 200,
    "role": "main"
  },
  "_body": "API response from gemini-2.5-flash. Status: 200. Duration: 185ms."
}
`;

describe('gemini telemetry records', () => {
  it("reads an API response record's input and output token counts", () => {
    expect(apiResponseTokens(API_RESPONSE)).toEqual({ inputTokens: 146, outputTokens: 14 });
  });

  it("counts a call's thinking (thoughts_token_count) as output, as Google bills it", () => {
    const thinking = API_RESPONSE.replace('"thoughts_token_count": 0', '"thoughts_token_count": 900').replace('"total_token_count": 160', '"total_token_count": 1060');
    expect(apiResponseTokens(thinking)).toEqual({ inputTokens: 146, outputTokens: 14 + 900 });
  });

  it('reads nothing from other records, broken ones or counts that are not counts', () => {
    expect(apiResponseTokens(API_RESPONSE.replace('gemini_cli.api_response', 'gemini_cli.api_request'))).toBeNull();
    expect(apiResponseTokens('{"attributes":{"_body":"mentions gemini_cli.api_response"}}')).toBeNull();
    expect(apiResponseTokens(API_RESPONSE.slice(0, 200))).toBeNull();
    expect(apiResponseTokens(API_RESPONSE.replace('"input_token_count": 146', '"input_token_count": "many"'))).toEqual({ inputTokens: 0, outputTokens: 14 });
  });
});

const PROMPT = 'Read notes.txt, marker prompt-7f3a';
const NOTE = 'note-content-91c2';
const ANSWER = 'answer-text-55d1';

describe('gemini usage file, the real CLI, against a stand-in Gemini API', () => {
  it("has one record per API call, adding up to the result's totals, and neither the prompt, the tool output nor the answer", { timeout: 60_000 }, async () => {
    const standIn = await startGeminiStandIn(toolThenText('read_file', { file_path: 'notes.txt' }, ANSWER));
    cleanups.push(() => standIn.close());
    const home = makeTempDir('agented-gemini-usage-home-');
    const work = makeTempDir('agented-gemini-usage-work-');
    cleanups.push(home.remove, work.remove);
    fs.mkdirSync(path.join(home.dir, '.gemini'));
    fs.writeFileSync(
      path.join(home.dir, '.gemini', 'settings.json'),
      JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 }, privacy: { usageStatisticsEnabled: false } }),
    );
    fs.writeFileSync(path.join(work.dir, 'notes.txt'), `${NOTE}\n`);
    const env = { HOME: home.dir, TMPDIR: home.dir, GEMINI_API_KEY: 'stand-in-gemini-key', GOOGLE_GEMINI_BASE_URL: standIn.url, PATH: process.env.PATH };

    const reports: RunningTokens[] = [];
    const usageFile = followUsageFile(geminiUsageFile, env, (tokens) => reports.push({ ...tokens }));
    cleanups.push(() => usageFile.close());
    const events: AgentEvent[] = [];
    const agent = startAgentProcess({
      executable: path.join(agentClisBin(), 'gemini'),
      adapter: geminiAdapter,
      invocation: { prompt: PROMPT, model: 'gemini-2.5-flash', permissionMode: 'read-only', workingDirectory: work.dir, env: { ...env, ...usageFile.env } },
      onLine: (stream, text, parsed) => {
        if (stream === 'stdout') usageFile.stdoutLine(text);
        events.push(...parsed);
      },
    });
    cleanups.push(() => agent.stop({ graceMs: 500 }));
    const exit = await agent.done;
    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(standIn.requests.filter((request) => request.path.includes(':streamGenerateContent'))).toHaveLength(2);

    const file = usageFile.env.GEMINI_TELEMETRY_OUTFILE!;
    const written = fs.readFileSync(file, 'utf8');
    usageFile.close();
    expect(written.match(/"event\.name": "gemini_cli\.api_response"/g)).toHaveLength(2);
    for (const secret of [PROMPT, NOTE, ANSWER]) expect(written).not.toContain(secret);
    // No long text at all: not the command line, the system prompt, the tool declarations.
    expect(Math.max(...written.split('\n').map((line) => line.length))).toBeLessThan(200);

    const totals = events.filter((event): event is Extract<AgentEvent, { type: 'usage' }> => event.type === 'usage');
    expect(totals).toHaveLength(1);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.at(-1)).toEqual({ inputTokens: totals[0]?.inputTokens, outputTokens: totals[0]?.outputTokens });
    // The attempt's folder went with it.
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });
});
