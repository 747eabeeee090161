import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { HealthReady } from '../../common/api.js';
import type { AuditEntry } from '../../common/audit.js';
import type { Execution } from '../../common/executions.js';
import { keyedApi } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { keychainHome, keyShowIn, lockKeyring, type KeychainHome } from '../helpers/keychain-serve.js';
import { inSecretService } from '../helpers/secret-service.js';
import { isAlive, repoRoot, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { untilTrue, waitFor } from '../helpers/time.js';

/**
 * An account's key where it is kept — the OS keychain (a real gnome-keyring
 * Secret Service), or sealed in SQLite under AGENTED_API_KEY — and what
 * happens when it cannot be had there. A fixture CLI records the environment
 * it was started with, so a test sees which key an execution ran on.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ACCOUNT_KEY = 'sk-ant-account-key-0123456789';
const ENVIRONMENT_KEY = 'sk-ant-environment-0123456789';

type Api = <T>(method: string, urlPath: string, body?: unknown) => Promise<{ status: number; body: T }>;

function apiOf(url: string, key: string): Api {
  const api = keyedApi(key);
  return (method, urlPath, body) => api(url, method, urlPath, body);
}

/** A claude "CLI" that writes the environment it got to agent-env.json in its working directory. */
function envAgent(dir: string): string {
  const agent = path.join(dir, 'env-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'env-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  return agent;
}

async function runToEnd(api: Api, triggerId: string): Promise<Execution> {
  const accepted = await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} });
  expect(accepted.status).toBe(202);
  return waitFor(
    'the execution to end',
    async () => {
      const execution = (await api<Execution>('GET', `/api/executions/${accepted.body.executionId}`)).body;
      return ['succeeded', 'failed', 'skipped'].includes(execution.state) ? execution : undefined;
    },
    20_000,
  );
}

/** `agented serve` over `home`'s keychain, unlocked; the claude CLI is the fixture. */
async function serveWithKeychain(home: KeychainHome, agent: string): Promise<{ api: Api; stop: () => Promise<unknown> }> {
  const key = await keyShowIn(home);
  const server = runCli({ env: { ...home.env, AGENTED_CLAUDE_PATH: agent, ANTHROPIC_API_KEY: ENVIRONMENT_KEY }, wrap: inSecretService({ unlock: true, busAddressFile: home.busAddressFile }) });
  cleanups.push(() => server.killGroup('SIGKILL'));
  const { url, pid } = await server.ready;
  const api = apiOf(url, key);
  const worker = (await api<HealthReady>('GET', '/health/ready')).body.pid;
  // Until both are gone, the data folder is still theirs (one instance per data folder).
  const stop = async () => {
    await server.killGroup('SIGKILL');
    await untilTrue(() => !isAlive(pid) && !isAlive(worker), 'serve and its worker to end', 10_000);
  };
  return { api, stop };
}

/** The names of the account keys the running serve's keyring holds (secret-tool over the same D-Bus session). */
async function accountKeysInKeyring(home: KeychainHome): Promise<string[]> {
  const { stdout } = await promisify(execFile)('secret-tool', ['search', '--all', 'service', 'agented'], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: fs.readFileSync(home.busAddressFile, 'utf8') },
  });
  return [...stdout.matchAll(/^label = keyring:(account:.+):api-key@agented$/gm)].map((match) => match[1]!);
}

describe('account keys in the OS keychain', () => {
  it('two requests adding the same name at once: one account is created, the other answers 409 and leaves no key behind', async () => {
    const home = keychainHome();
    cleanups.push(home.remove);
    const { api } = await serveWithKeychain(home, envAgent(home.env.HOME!));
    // Both are checked for the name while the first one's key is still being written to the keychain.
    const answers = await Promise.all(['sk-ant-first-0123456789', 'sk-ant-second-0123456789'].map((apiKey) => api<Account | { error: { code: string } }>('POST', '/api/accounts', { backend: 'claude', name: 'same', apiKey })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    expect(answers.map((answer) => ('error' in answer.body ? answer.body.error.code : 'created')).sort()).toEqual(['ERR_ACCOUNT_EXISTS', 'created']);
    const created = answers.find((answer) => answer.status === 201)!.body as Account;
    expect(await accountKeysInKeyring(home)).toEqual([`account:${created.id}`]);
  });

  it('deleting an account while the keychain is locked answers 503 and deletes nothing: the account stays, with its key, unaudited', async () => {
    const home = keychainHome();
    cleanups.push(home.remove);
    const { api } = await serveWithKeychain(home, envAgent(home.env.HOME!));
    const account = await api<Account>('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: ACCOUNT_KEY });
    expect(account.status).toBe(201);
    await lockKeyring(home);

    const refused = await api<{ error: { code: string } }>('DELETE', `/api/accounts/${account.body.id}`);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('ERR_KEYCHAIN_UNAVAILABLE');
    expect((await api<{ items: Account[] }>('GET', '/api/accounts')).body.items.map((item) => item.id)).toEqual([account.body.id]);
    const audit = await api<{ items: AuditEntry[] }>('GET', '/api/audit');
    expect(audit.body.items.filter((entry) => entry.targetId === account.body.id).map((entry) => entry.action)).toEqual(['account.created']);
  });

  it('an account whose key is not in the store the worker now uses (created with the keychain, run with AGENTED_API_KEY) fails saying so, and never runs on the environment’s key', async () => {
    const home = keychainHome();
    cleanups.push(home.remove);
    const agent = envAgent(home.env.HOME!);
    const workingDirectory = path.join(home.env.HOME!, 'work');
    fs.mkdirSync(workingDirectory);
    const first = await serveWithKeychain(home, agent);
    expect((await first.api('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: ACCOUNT_KEY })).status).toBe(201);
    const trigger = await first.api<{ id: string }>('POST', '/api/triggers', { name: 'keys', kind: 'manual', backend: 'claude', promptTemplate: 'Say hello', workingDirectory });
    await first.stop();

    // The same data folder, now with the key from the environment: secrets are looked for sealed in SQLite.
    const server = await startInProcess({ ...home.env, AGENTED_CLAUDE_PATH: agent, ANTHROPIC_API_KEY: ENVIRONMENT_KEY });
    cleanups.push(() => server.close());
    const execution = await runToEnd(apiOf(server.url, server.key), trigger.body.id);
    expect(execution.state).toBe('failed');
    // An ordinary failure, saying what to do, not an internal error.
    expect(execution.reason).toMatch(/^the API key of claude account "work" is not in the secret store .*; give the account its key again$/);
    expect(fs.existsSync(path.join(workingDirectory, 'agent-env.json'))).toBe(false);
  });
});

describe('account keys sealed in SQLite (AGENTED_API_KEY)', () => {
  it('after AGENTED_API_KEY changed, an execution on the account fails saying its key was sealed with another AGENTED_API_KEY', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const agent = envAgent(temp.dir);
    const workingDirectory = path.join(temp.dir, 'work');
    fs.mkdirSync(workingDirectory);
    const env = { AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), AGENTED_CLAUDE_PATH: agent, ANTHROPIC_API_KEY: ENVIRONMENT_KEY };
    const first = await startInProcess({ ...env, AGENTED_API_KEY: 'first-environment-key-0123456789' });
    const api = apiOf(first.url, first.key);
    expect((await api('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: ACCOUNT_KEY })).status).toBe(201);
    const trigger = await api<{ id: string }>('POST', '/api/triggers', { name: 'keys', kind: 'manual', backend: 'claude', promptTemplate: 'Say hello', workingDirectory });
    await first.close();

    const second = await startInProcess({ ...env, AGENTED_API_KEY: 'second-environment-key-0123456789' });
    cleanups.push(() => second.close());
    const execution = await runToEnd(apiOf(second.url, second.key), trigger.body.id);
    expect(execution.state).toBe('failed');
    expect(execution.reason).toMatch(/^"account:acc_\S+:api-key" was sealed with another AGENTED_API_KEY and cannot be read with this one; set it again$/);
    expect(fs.existsSync(path.join(workingDirectory, 'agent-env.json'))).toBe(false);
  });
});
