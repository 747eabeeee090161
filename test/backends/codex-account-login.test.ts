import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { codexAdapter } from '../../main/backends/adapters/codex.js';
import { backendSpec } from '../../main/backends/catalog.js';
import { startAgentProcess } from '../../main/executions/agent-process.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an account with its own configuration folder, the real Codex CLI, against a stand-in Responses API', () => {
  it("runs on the folder's login, not on a CODEX_API_KEY the worker's environment has", { timeout: 20_000 }, async () => {
    const home = makeTempDir('agented-codex-home-');
    const work = makeTempDir('agented-codex-work-');
    const configDir = makeTempDir('agented-codex-account-');
    cleanups.push(home.remove, work.remove, configDir.remove);
    const standIn = await startOpenAiStandIn(() => ({ text: 'Hello from the stand-in.' }));
    cleanups.push(() => standIn.close());
    // What `codex login --with-api-key` writes; the provider entry sends to the stand-in with codex's own login (0.171 ignores OPENAI_BASE_URL).
    fs.writeFileSync(path.join(configDir.dir, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-account-login-0123456789' }));
    fs.writeFileSync(
      path.join(configDir.dir, 'config.toml'),
      ['model_provider = "stand-in"', '', '[model_providers.stand-in]', 'name = "OpenAI stand-in"', `base_url = "${standIn.url}/v1"`, 'requires_openai_auth = true', 'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', ''].join('\n'),
    );
    // `codex exec` prefers CODEX_API_KEY to the login in CODEX_HOME.
    const workerEnv = { HOME: home.dir, PATH: process.env.PATH, CODEX_API_KEY: 'sk-worker-environment-0123', OPENAI_API_KEY: 'sk-worker-environment-4567' };

    const agent = startAgentProcess({
      executable: path.join(agentClisBin(), 'codex'),
      adapter: codexAdapter,
      invocation: {
        prompt: 'Say hello.',
        model: 'gpt-stand-in',
        permissionMode: 'read-only',
        workingDirectory: work.dir,
        env: { ...workerEnv, ...backendSpec('codex').accountEnvironment({ apiKey: null, configDir: configDir.dir }) },
      },
      onLine: () => undefined,
    });
    cleanups.push(() => agent.stop({ graceMs: 500 }));
    const exit = await agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    expect(standIn.requests.map((request) => request.headers.authorization)).toEqual(['Bearer sk-account-login-0123456789']);
  });
});
