import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './serve.js';

/** The pinned real CLIs, as scripts/install-agent-clis.mjs installs them (npm test does, before any test). */
export const AGENT_CLI_VERSIONS = {
  claude: '2.1.332',
  codex: '0.171.0',
  gemini: '0.61.0',
  opencode: '1.18.33',
} as const;

export function agentClisBin(): string {
  const bin = path.join(repoRoot, '.cache', 'agent-clis', 'node_modules', '.bin');
  if (!fs.existsSync(path.join(bin, 'claude'))) {
    throw new Error(`The agent CLIs are not installed in ${bin}: run \`npm run setup:agent-clis\` (npm test does it first).`);
  }
  return bin;
}
