import fs from 'node:fs';
import path from 'node:path';
import type { Account } from '../../common/accounts.js';
import type { Execution, ExecutionState } from '../../common/executions.js';
import type { TriggerCreate } from '../../common/triggers.js';
import { agentClisBin } from './agent-clis.js';
import { request } from './http.js';
import { startInProcess, type InProcessServer } from './in-process.js';
import { startAnthropicStandIn, type AnthropicReply } from './stand-ins/anthropic.js';
import { startOpenAiStandIn, writeCodexConfig, type OpenAiReply } from './stand-ins/openai.js';
import type { RecordedRequest, StandIn } from './stand-ins/server.js';
import { repoRoot } from './serve.js';
import { makeTempDir } from './temp.js';
import { sleep } from './time.js';

/**
 * What the Anthropic stand-in answers, chosen by a marker in the prompt:
 * `HANG` starts an answer and never finishes it (the execution runs until it
 * is stopped); `READ <n>` makes the agent call its Read tool n times (so
 * lines keep coming) before answering; anything else is answered at once.
 */
export function scriptedReply(request: RecordedRequest): AnthropicReply {
  const conversation = JSON.stringify((request.body as { messages?: unknown } | null)?.messages ?? []);
  if (conversation.includes('HANG')) return { hangAfterText: 'Working on it' };
  const reads = /READ (\d+)/.exec(conversation);
  if (reads) {
    const done = conversation.split('"tool_result"').length - 1;
    if (done < Number(reads[1])) return { toolUse: { name: 'Read', input: { file_path: '/etc/hostname' } } };
  }
  return { text: 'All done.' };
}

export interface Engine {
  server: InProcessServer;
  standIn: StandIn;
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createTrigger(fields: Partial<TriggerCreate>): Promise<string>;
  run(triggerId: string, params?: Record<string, unknown>): Promise<string>;
  execution(id: string): Promise<Execution>;
  waitForState(id: string, states: ExecutionState[], timeoutMs?: number): Promise<Execution>;
  close(): Promise<void>;
}

/**
 * The real worker in process, running the real Claude Code CLI (pinned,
 * from .cache/agent-clis) against the Anthropic stand-in on 127.0.0.1.
 */
export async function startEngine(env: Record<string, string> = {}, options: { respond?: (request: RecordedRequest) => AnthropicReply } = {}): Promise<Engine> {
  const standIn = await startAnthropicStandIn(options.respond ?? ((recorded) => scriptedReply(recorded)));
  const server = await startInProcess({
    PATH: `${agentClisBin()}${path.delimiter}${process.env.PATH ?? ''}`,
    ANTHROPIC_BASE_URL: standIn.url,
    ANTHROPIC_API_KEY: 'sk-ant-stand-in-0123456789',
    CLAUDE_CODE_MAX_RETRIES: '0',
    DISABLE_AUTOUPDATER: '1',
    AGENTED_STOP_GRACE_MS: '500',
    AGENTED_MAX_CONCURRENT: '8',
    ...env,
  });
  const api = async <T>(method: string, urlPath: string, body?: unknown) => {
    const response = await request(server.url, {
      method,
      path: urlPath,
      headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: response.body === '' ? (undefined as T) : response.json<T>() };
  };
  const execution = async (id: string) => (await api<Execution>('GET', `/api/executions/${id}`)).body;
  return {
    server,
    standIn,
    api,
    createTrigger: async (fields) => {
      const created = await api<{ id: string }>('POST', '/api/triggers', { name: 'engine test', kind: 'manual', backend: 'claude', promptTemplate: 'Say hello', ...fields });
      if (created.status !== 201) throw new Error(`trigger not created: ${JSON.stringify(created.body)}`);
      return created.body.id;
    },
    run: async (triggerId, params = {}) => {
      const accepted = await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params });
      if (accepted.status !== 202) throw new Error(`run not accepted: ${JSON.stringify(accepted.body)}`);
      return accepted.body.executionId;
    },
    execution,
    waitForState: async (id, states, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let last: Execution | undefined;
      while (Date.now() < deadline) {
        last = await execution(id);
        // "running" counts once the CLI's process exists (its group is recorded just after the state changes).
        if (states.includes(last.state) && (last.state !== 'running' || last.processGroup !== null)) return last;
        await sleep(50);
      }
      throw new Error(`execution ${id} did not reach ${states.join('/')} within ${timeoutMs} ms (it is ${last?.state}: ${last?.reason})`);
    },
    close: async () => {
      await server.close();
      await standIn.close();
    },
  };
}

/** An executable that runs the stubborn process tree (leader and children ignore SIGINT and SIGTERM). */
export function stubbornExecutable(dir: string): string {
  const fixture = path.join(repoRoot, 'test', 'fixtures', 'stubborn-tree.mjs');
  const file = path.join(dir, 'stubborn-agent');
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${fixture}"\n`, { mode: 0o755 });
  return file;
}

/**
 * The real worker running the real codex CLI against the OpenAI stand-in (`respond`), its provider
 * reading the key from OPENAI_API_KEY, where each codex account's key goes; `addAccount` adds one.
 * What it starts is handed to `cleanup`.
 */
export async function startCodexEngine(
  respond: (request: RecordedRequest, index: number) => OpenAiReply,
  cleanup: (step: () => unknown) => void,
): Promise<{ engine: Engine; openAi: StandIn; addAccount(name: string, apiKey: string, priority: number): Promise<Account> }> {
  const openAi = await startOpenAiStandIn(respond);
  cleanup(() => openAi.close());
  const home = makeTempDir('agented-codex-engine-');
  cleanup(home.remove);
  const codexHome = path.join(home.dir, '.codex');
  fs.mkdirSync(codexHome);
  writeCodexConfig(codexHome, openAi, 'OPENAI_API_KEY');
  const engine = await startEngine({ CODEX_HOME: codexHome });
  cleanup(() => engine.close());
  const addAccount = async (name: string, apiKey: string, priority: number) => {
    const created = await engine.api<Account>('POST', '/api/accounts', { backend: 'codex', name, apiKey, priority });
    if (created.status !== 201) throw new Error(`account ${name} not created: ${JSON.stringify(created.body)}`);
    return created.body;
  };
  return { engine, openAi, addAccount };
}
