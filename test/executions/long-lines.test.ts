import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEngine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A CLI's JSON line can be long: Claude Code's final result carries the whole
 * answer, a tool call the whole file it writes. Such a line is parsed whole —
 * its usage and result count — even though what is stored of it is cut.
 */
describe('a CLI printing a JSON line of several megabytes (a fixture writing Claude Code stream-json)', () => {
  it('parses it: the result and its usage count; the stored line and its events are cut with a mark', async () => {
    const temp = makeTempDir('agented-long-lines-');
    cleanups.push(temp.remove);
    const agent = path.join(temp.dir, 'long-answer-agent.mjs');
    // The answer is 3 MB: more than the 1 MB a line of stderr (never parsed) is read in.
    fs.writeFileSync(
      agent,
      `#!${process.execPath}
if (process.argv.includes('--version')) { process.stdout.write('2.0.0 (Claude Code)\\n'); process.exit(0); }
const answer = 'word '.repeat(600_000);
process.stdout.write(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, session_id: 's', result: answer, total_cost_usd: 0.42, usage: { input_tokens: 1000, output_tokens: 750000 } }) + '\\n');
`,
      { mode: 0o755 },
    );
    const engine = await startEngine({ AGENTED_CLAUDE_PATH: agent });
    cleanups.push(() => engine.close());
    const trigger = await engine.createTrigger({ promptTemplate: 'Write a long answer' });
    const ended = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(ended.state).toBe('succeeded');
    expect(ended.usage).toMatchObject({ inputTokens: 1000, outputTokens: 750000, costUsd: 0.42 });
    const stream = openEventStream(engine.server.url, `/api/executions/${ended.id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    await stream.ended;
    const [line] = logLines(stream.events).filter((logLine) => logLine.stream === 'stdout');
    expect(line!.text).toMatch(/… \[line truncated: \d+ characters\]$/);
    expect(line!.text.length).toBeLessThan(70 * 1024);
    expect(line!.events?.map((event) => event.type)).toEqual(['usage', 'result']);
    // The result event repeats the answer: its text is cut the same way, so the record stays bounded.
    const result = line!.events!.find((event) => event.type === 'result') as unknown as { text: string };
    expect(result.text).toMatch(/^word word .*… \[line truncated: 3000000 characters\]$/);
    expect(JSON.stringify(line).length).toBeLessThan(200 * 1024);
  }, 90_000);
});
