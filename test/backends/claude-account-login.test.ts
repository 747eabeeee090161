import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claudeAdapter } from '../../main/backends/adapters/claude.js';
import { backendSpec } from '../../main/backends/catalog.js';
import { startAgentProcess } from '../../main/executions/agent-process.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { startAnthropicStandIn } from '../helpers/stand-ins/anthropic.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an account with its own configuration folder, the real Claude Code, against a stand-in Messages API', () => {
  it("runs on the folder's login, not on an API key the worker's environment has", { timeout: 20_000 }, async () => {
    const home = makeTempDir('agented-claude-home-');
    const work = makeTempDir('agented-claude-work-');
    const configDir = makeTempDir('agented-claude-account-');
    cleanups.push(home.remove, work.remove, configDir.remove);
    // What `claude /login` writes for a subscription (a token valid for an hour).
    const login = { claudeAiOauth: { accessToken: 'sk-ant-oat01-account-login', refreshToken: 'sk-ant-ort01-account-login', expiresAt: Date.now() + 3_600_000, scopes: ['user:inference', 'user:profile'], subscriptionType: 'max' } };
    fs.writeFileSync(path.join(configDir.dir, '.credentials.json'), JSON.stringify(login));
    const standIn = await startAnthropicStandIn(() => ({ text: 'Hello from the stand-in.' }));
    cleanups.push(() => standIn.close());
    const workerEnv = { HOME: home.dir, PATH: process.env.PATH, ANTHROPIC_BASE_URL: standIn.url, ANTHROPIC_API_KEY: 'sk-ant-worker-environment', CLAUDE_CODE_MAX_RETRIES: '0' };

    const agent = startAgentProcess({
      executable: path.join(agentClisBin(), 'claude'),
      adapter: claudeAdapter,
      invocation: {
        prompt: 'Say hello.',
        model: null,
        permissionMode: 'read-only',
        workingDirectory: work.dir,
        env: { ...workerEnv, ...backendSpec('claude').accountEnvironment({ apiKey: null, configDir: configDir.dir }) },
      },
      onLine: () => undefined,
    });
    cleanups.push(() => agent.stop({ graceMs: 500 }));
    const exit = await agent.done;

    expect(exit).toMatchObject({ code: 0, ok: true });
    const messages = standIn.requests.filter((request) => request.path.startsWith('/v1/messages'));
    expect(messages.map((request) => [request.headers['x-api-key'], request.headers.authorization])).toEqual([[undefined, 'Bearer sk-ant-oat01-account-login']]);
  });
});
