import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { repoRoot } from '../helpers/serve.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * A CLI can print the key it was given (an agent that runs `env`): its
 * output is stored and streamed, so the key would reach the database, every
 * viewer and every replay. The key of the account an execution runs on, and
 * the environment's key for the backend, are masked in every line, in the
 * normalized events and in the reasons taken from the CLI's output.
 */
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const ENVIRONMENT_KEY = 'sk-ant-environment-key-0123456789';
const ACCOUNT_KEY = 'sk-ant-account-key-"quoted"-0123456789';
let engine: Engine;
let dataDir: string;

beforeAll(async () => {
  const temp = makeTempDir('agented-output-secrets-');
  cleanups.push(temp.remove);
  const agent = path.join(temp.dir, 'key-printing-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'key-printing-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  engine = await startEngine({ ANTHROPIC_API_KEY: ENVIRONMENT_KEY, AGENTED_CLAUDE_PATH: agent });
  cleanups.push(() => engine.close());
  dataDir = engine.server.dataDir;
});

/** Runs the key-printing CLI once; what a viewer of the execution gets (its record and every line streamed). */
async function runAndRead(): Promise<{ execution: Execution; streamed: string }> {
  const trigger = await engine.createTrigger({ promptTemplate: 'Show me the environment' });
  const id = await engine.run(trigger);
  const execution = await engine.waitForState(id, ['succeeded', 'failed']);
  const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
  await stream.ended;
  const lines = logLines(stream.events);
  // The CLI's lines did arrive (masked), with their events.
  expect(lines.some((line) => line.stream === 'stderr' && line.text.startsWith('debug: using '))).toBe(true);
  expect(lines.some((line) => line.events?.some((event) => event.type === 'tool_result'))).toBe(true);
  return { execution, streamed: stream.events.map((event) => event.data).join('\n') };
}

function expectNowhere(key: string, found: { execution: Execution; streamed: string }): void {
  const escape = (value: string) => JSON.stringify(value).slice(1, -1);
  // As it is, escaped once (a plain line's text, an event) and twice (the text of a JSON line, inside the record).
  for (const form of new Set([key, escape(key), escape(escape(key))])) {
    expect(found.streamed).not.toContain(form);
    expect(JSON.stringify(found.execution)).not.toContain(form);
    // Nor in the database (its log chunks), nor its WAL.
    for (const file of fs.readdirSync(dataDir).filter((name) => name.startsWith('agented.db'))) {
      expect(fs.readFileSync(path.join(dataDir, file)).includes(form), file).toBe(false);
    }
  }
  expect(found.streamed).toContain('[REDACTED]');
}

describe("a CLI printing its own key (a fixture writing Claude Code's stream-json)", () => {
  it('the environment key of the backend is masked in the stored and streamed lines and events', async () => {
    const found = await runAndRead();
    expect(found.execution.state).toBe('succeeded');
    expectNowhere(ENVIRONMENT_KEY, found);
  });

  it("the key of the account the execution runs on is masked too, also in a form JSON escapes", async () => {
    expect((await engine.api('POST', '/api/accounts', { backend: 'claude', name: 'team', apiKey: ACCOUNT_KEY })).status).toBe(201);
    const found = await runAndRead();
    expect(found.execution.attempts.map((attempt) => attempt.accountName)).toEqual(['team']);
    expectNowhere(ACCOUNT_KEY, found);
  });
});
