import os from 'node:os';
import path from 'node:path';
import type { Backend } from '../../common/triggers.js';

type Env = Readonly<Record<string, string | undefined>>;

/** What Agented knows of each agent CLI: how to find it, how it authenticates, how to fix it. */
export interface BackendSpec {
  name: Backend;
  command: string;
  /** The npm package the CLI is published as. */
  npmPackage: string;
  /** Environment variables that authenticate it on their own. */
  apiKeyVariables: readonly string[];
  /** Files its own login writes (their existence is checked, never their content). */
  credentialFiles(env: Env): string[];
  /** What to run when it is installed but not authenticated. */
  loginHint: string;
  /** The variables that make the CLI use one account: its API key, or its own configuration folder (a separate login). */
  accountEnvironment(credentials: { apiKey: string | null; configDir: string | null }): Record<string, string | undefined>;
}

/** Sets `variables` to the API key (and unsets `conflicting`, which the CLI would prefer), or nothing without a key. */
function keyVariables(apiKey: string | null, variables: string[], conflicting: string[] = []): Record<string, string | undefined> {
  if (apiKey === null) return {};
  return Object.fromEntries([...variables.map((name) => [name, apiKey]), ...conflicting.map((name) => [name, undefined])]);
}

/**
 * Sets `variable` to the account's folder and, for a folder's own login (no key), unsets the environment's keys: the CLI would
 * prefer them to the login (or use them where the folder has none), and the account would run, and be billed, on them.
 */
function folderVariables(configDir: string | null, apiKey: string | null, variable: string, environmentKeys: string[]): Record<string, string | undefined> {
  if (configDir === null) return {};
  return { [variable]: configDir, ...(apiKey === null ? Object.fromEntries(environmentKeys.map((name) => [name, undefined])) : {}) };
}

const home = (env: Env) => env.HOME || os.homedir();

export function backendSpec(backend: Backend): BackendSpec {
  return backendCatalog.find((spec) => spec.name === backend)!;
}

export const backendCatalog: readonly BackendSpec[] = [
  {
    name: 'claude',
    command: 'claude',
    npmPackage: '@anthropic-ai/claude-code',
    apiKeyVariables: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],
    credentialFiles: (env) => [path.join(env.CLAUDE_CONFIG_DIR || path.join(home(env), '.claude'), '.credentials.json')],
    loginHint: 'run `claude`, then `/login` (or `claude setup-token`), or set ANTHROPIC_API_KEY',
    accountEnvironment: ({ apiKey, configDir }) => ({
      ...keyVariables(apiKey, ['ANTHROPIC_API_KEY'], ['CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN']),
      ...folderVariables(configDir, apiKey, 'CLAUDE_CONFIG_DIR', ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN']),
    }),
  },
  {
    name: 'codex',
    command: 'codex',
    npmPackage: '@openai/codex',
    apiKeyVariables: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
    credentialFiles: (env) => [path.join(env.CODEX_HOME || path.join(home(env), '.codex'), 'auth.json')],
    loginHint: 'run `codex login`, or set OPENAI_API_KEY',
    // `codex exec` prefers CODEX_API_KEY to the login in CODEX_HOME.
    accountEnvironment: ({ apiKey, configDir }) => ({
      ...keyVariables(apiKey, ['OPENAI_API_KEY', 'CODEX_API_KEY']),
      ...folderVariables(configDir, apiKey, 'CODEX_HOME', ['OPENAI_API_KEY', 'CODEX_API_KEY']),
    }),
  },
  {
    name: 'gemini',
    command: 'gemini',
    npmPackage: '@google/gemini-cli',
    apiKeyVariables: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    credentialFiles: (env) => [path.join(home(env), '.gemini', 'oauth_creds.json')],
    loginHint: 'run `gemini` and choose "Login with Google", or set GEMINI_API_KEY',
    // GEMINI_CLI_HOME stands in for the home folder: the account's settings and login live in its .gemini. Gemini CLI takes
    // GEMINI_API_KEY before a key saved by its login, and when the folder's settings choose no way to sign in.
    accountEnvironment: ({ apiKey, configDir }) => ({
      ...keyVariables(apiKey, ['GEMINI_API_KEY'], ['GOOGLE_API_KEY']),
      ...folderVariables(configDir, apiKey, 'GEMINI_CLI_HOME', ['GEMINI_API_KEY', 'GOOGLE_API_KEY']),
    }),
  },
  {
    name: 'opencode',
    command: 'opencode',
    npmPackage: 'opencode-ai',
    apiKeyVariables: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY'],
    credentialFiles: (env) => [path.join(env.XDG_DATA_HOME || path.join(home(env), '.local', 'share'), 'opencode', 'auth.json')],
    loginHint: 'run `opencode auth login`, or set ANTHROPIC_API_KEY (or another provider key)',
    // A key is taken as Anthropic's (OpenCode's default provider); for another provider, give the account a folder and run `opencode auth login` with XDG_DATA_HOME set to it.
    // OpenCode offers every provider whose key the environment has: with those keys left in place, a run of the account (a model of another
    // provider, or another provider chosen by default) would be billed to the environment.
    accountEnvironment: ({ apiKey, configDir }) => ({
      ...keyVariables(apiKey, ['ANTHROPIC_API_KEY'], ['OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY']),
      ...folderVariables(configDir, apiKey, 'XDG_DATA_HOME', ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY']),
    }),
  },
];
