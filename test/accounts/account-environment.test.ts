import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { Backend } from '../../common/triggers.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * What reaches the CLI when an execution runs on an account: a real spawn,
 * through AGENTED_<BACKEND>_PATH, of a fixture that records its environment.
 * The variables are the CLIs' own (docs/accounts.md).
 */
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

let engine: Engine;
let temp: string;

// Credentials of the environment the account's must win over (or remove, where the CLI would prefer them).
const ENVIRONMENT = {
  ANTHROPIC_API_KEY: 'sk-ant-environment-0123456789',
  CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-environment-0123456789',
  ANTHROPIC_AUTH_TOKEN: 'environment-auth-token-0123456789',
  OPENAI_API_KEY: 'sk-openai-environment-0123456789',
  CODEX_API_KEY: 'sk-codex-environment-0123456789',
  GEMINI_API_KEY: 'gemini-environment-0123456789',
  GOOGLE_API_KEY: 'google-environment-0123456789',
  GOOGLE_GENERATIVE_AI_API_KEY: 'google-ai-environment-0123456789',
};

beforeAll(async () => {
  const dir = makeTempDir('agented-account-env-');
  cleanups.push(dir.remove);
  temp = dir.dir;
  const agent = path.join(temp, 'env-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'env-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  engine = await startEngine({ ...ENVIRONMENT, AGENTED_CLAUDE_PATH: agent, AGENTED_CODEX_PATH: agent, AGENTED_GEMINI_PATH: agent, AGENTED_OPENCODE_PATH: agent });
  cleanups.push(() => engine.close());
});

/** Runs a trigger of `backend` once, on whichever account the pool picks, and returns the environment the CLI saw. */
async function environmentOf(backend: Backend, expectedAccount: string): Promise<Record<string, string | undefined>> {
  const workingDirectory = fs.mkdtempSync(path.join(temp, `${backend}-`));
  const trigger = await engine.createTrigger({ backend, promptTemplate: 'Say hello', workingDirectory });
  const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
  expect(done.state).not.toBe('skipped');
  expect(done.attempts.map((attempt) => attempt.accountName)).toEqual([expectedAccount]);
  return JSON.parse(fs.readFileSync(path.join(workingDirectory, 'agent-env.json'), 'utf8')) as Record<string, string | undefined>;
}

async function addAccount(fields: Record<string, unknown>): Promise<Account> {
  const created = await engine.api<Account>('POST', '/api/accounts', fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

/** `folderUnsets`: the environment's keys removed for a folder's own login: the CLI would prefer them to it (or use them where the folder has none), and the account would run, and be billed, on them. */
const cases: { backend: Backend; folder: string; keys: string[]; unset: string[]; folderUnsets: string[] }[] = [
  {
    backend: 'claude',
    folder: 'CLAUDE_CONFIG_DIR',
    keys: ['ANTHROPIC_API_KEY'],
    unset: ['CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN'],
    folderUnsets: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN'],
  },
  { backend: 'codex', folder: 'CODEX_HOME', keys: ['OPENAI_API_KEY', 'CODEX_API_KEY'], unset: [], folderUnsets: ['OPENAI_API_KEY', 'CODEX_API_KEY'] },
  { backend: 'gemini', folder: 'GEMINI_CLI_HOME', keys: ['GEMINI_API_KEY'], unset: ['GOOGLE_API_KEY'], folderUnsets: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'] },
  // The key is Anthropic's; another provider's key of the environment would let OpenCode run, billed to the environment, on that provider.
  { backend: 'opencode', folder: 'XDG_DATA_HOME', keys: ['ANTHROPIC_API_KEY'], unset: ['OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'], folderUnsets: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'] },
];

describe("an account's credentials reach the CLI it runs (a real spawn of a fixture recording its environment)", () => {
  for (const { backend, folder, keys, unset, folderUnsets } of cases) {
    it(`${backend}: the account's configuration folder as ${folder}, without the environment's ${folderUnsets.join(', ')}; then its API key as ${keys.join(' and ')}${unset.length > 0 ? `, without ${unset.join(' or ')}` : ''}`, async () => {
      // A folder only: the CLI's own login in it, and none of the environment's keys (test/backends/claude-account-login.test.ts, codex-account-login.test.ts).
      const loginDir = path.join(temp, `${backend}-login`);
      const login = await addAccount({ backend, name: 'own-login', configDir: loginDir, priority: 1 });
      const withFolder = await environmentOf(backend, 'own-login');
      expect(withFolder[folder]).toBe(loginDir);
      for (const name of folderUnsets) expect(withFolder, name).not.toHaveProperty(name);

      // A key: it goes to the CLI's key variables, and what the CLI would prefer to it is removed.
      expect((await engine.api('PATCH', `/api/accounts/${login.id}`, { enabled: false })).status).toBe(200);
      const apiKey = `key-of-the-${backend}-account-0123456789`;
      await addAccount({ backend, name: 'with-key', apiKey, priority: 2 });
      const withKey = await environmentOf(backend, 'with-key');
      for (const name of keys) expect(withKey[name], name).toBe(apiKey);
      for (const name of unset) expect(withKey, name).not.toHaveProperty(name);
      expect(withKey[folder]).toBeUndefined();
    });
  }
});
