import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codexUsageFile } from '../../main/backends/adapters/codex-usage.js';
import { geminiUsageFile } from '../../main/backends/adapters/gemini-usage.js';
import { followUsageFile, type RunningTokens, type UsageFileRun } from '../../main/executions/usage-file.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Resolves once `reports` has `count` entries. */
async function reported(reports: RunningTokens[], count: number, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (reports.length < count) {
    if (Date.now() > deadline) throw new Error(`${count} reports did not come within ${ms} ms (${reports.length} came)`);
    await sleep(20);
  }
}

const THREAD_ID = '01a23f0f-a8b6-7321-b1ef-64a4aecc9212';
const tokenCount = (input: number, output: number) =>
  JSON.stringify({ timestamp: '2026-12-04T03:18:40.903Z', type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: input, cached_input_tokens: 0, output_tokens: output } } } });

/** A Codex home with today's sessions folder, and a follower of the rollout of THREAD_ID in it. */
function followCodex(reports: RunningTokens[], options = {}): { rollout: string; run: UsageFileRun } {
  const home = makeTempDir('agented-usage-file-codex-');
  cleanups.push(home.remove);
  const day = path.join(home.dir, 'sessions', '2026', '12', '04');
  fs.mkdirSync(day, { recursive: true });
  const run = followUsageFile(codexUsageFile, { CODEX_HOME: home.dir }, (tokens) => reports.push({ ...tokens }), { pollMs: 20, ...options });
  cleanups.push(() => run.close());
  return { rollout: path.join(day, `rollout-2026-12-04T03-18-40-${THREAD_ID}.jsonl`), run };
}

describe('following a usage file', () => {
  it('waits for the file to be named and to exist, then reports each running total that grew, as it is appended', async () => {
    const reports: RunningTokens[] = [];
    const { rollout, run } = followCodex(reports);
    await sleep(100);
    run.stdoutLine(JSON.stringify({ type: 'thread.started', thread_id: THREAD_ID }));
    await sleep(100);
    fs.writeFileSync(rollout, `${tokenCount(100, 5)}\n`);
    await reported(reports, 1);
    // A repeated total (Codex repeats a token count with its rate limits) is no news; a partial line waits for its end.
    fs.appendFileSync(rollout, `${tokenCount(100, 5)}\n${tokenCount(250, 12).slice(0, 40)}`);
    await sleep(150);
    expect(reports).toEqual([{ inputTokens: 100, outputTokens: 5 }]);
    fs.appendFileSync(rollout, `${tokenCount(250, 12).slice(40)}\n`);
    await reported(reports, 2);
    expect(reports).toEqual([
      { inputTokens: 100, outputTokens: 5 },
      { inputTokens: 250, outputTokens: 12 },
    ]);
  });

  it('skips a record longer than its limit unparsed, reading in small chunks, and reads the records after it', async () => {
    const reports: RunningTokens[] = [];
    const { rollout, run } = followCodex(reports, { chunkBytes: 4096, chunksPerPoll: 4 });
    run.stdoutLine(JSON.stringify({ type: 'thread.started', thread_id: THREAD_ID }));
    // A 2 MB line that would read as a token count: had it been kept and parsed, its total would be reported (and the smaller one after it not).
    const huge = JSON.stringify({ type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: 999_999, output_tokens: 999_999 } }, padding: 'x'.repeat(2_000_000) } });
    fs.writeFileSync(rollout, `${huge}\n${tokenCount(300, 7)}\n`);
    // 16 KiB a poll every 20 ms: the long line takes a few seconds to pass.
    await reported(reports, 1, 20_000);
    await sleep(100);
    expect(reports).toEqual([{ inputTokens: 300, outputTokens: 7 }]);
  });

  it('skips a record longer than its limit also when it arrives whole in one read', async () => {
    const reports: RunningTokens[] = [];
    const { rollout, run } = followCodex(reports, { chunkBytes: 256 * 1024 });
    run.stdoutLine(JSON.stringify({ type: 'thread.started', thread_id: THREAD_ID }));
    const long = JSON.stringify({ type: 'event_msg', payload: { type: 'token_count', info: { total_token_usage: { input_tokens: 999_999, output_tokens: 999_999 } }, padding: 'x'.repeat(70_000) } });
    fs.writeFileSync(rollout, `${long}\n${tokenCount(300, 7)}\n`);
    await reported(reports, 1);
    await sleep(100);
    expect(reports).toEqual([{ inputTokens: 300, outputTokens: 7 }]);
  });

  it('reads Gemini CLI telemetry records, split anywhere across reads, and sums its calls', async () => {
    const reports: RunningTokens[] = [];
    const run = followUsageFile(geminiUsageFile, {}, (tokens) => reports.push({ ...tokens }), { pollMs: 20, chunkBytes: 7 });
    cleanups.push(() => run.close());
    const file = run.env.GEMINI_TELEMETRY_OUTFILE!;
    const record = (event: string, input: number, output: number) =>
      `${JSON.stringify({ attributes: { 'event.name': event, input_token_count: input, output_token_count: output, nested: { a: 1 } } }, null, 2)}\n`;
    fs.writeFileSync(file, record('gemini_cli.api_request', 1, 1) + record('gemini_cli.api_response', 146, 14) + record('gemini_cli.api_response', 263, 12));
    await reported(reports, 2);
    expect(reports).toEqual([
      { inputTokens: 146, outputTokens: 14 },
      { inputTokens: 409, outputTokens: 26 },
    ]);
  });

  it('reads what is left when closed, then stops and removes its folder', async () => {
    const reports: RunningTokens[] = [];
    const run = followUsageFile(geminiUsageFile, {}, (tokens) => reports.push({ ...tokens }), { pollMs: 60_000 });
    const file = run.env.GEMINI_TELEMETRY_OUTFILE!;
    fs.writeFileSync(file, `${JSON.stringify({ attributes: { 'event.name': 'gemini_cli.api_response', input_token_count: 10, output_token_count: 2 } }, null, 2)}\n`);
    run.close();
    expect(reports).toEqual([{ inputTokens: 10, outputTokens: 2 }]);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    run.close();
  });
});
