// Installs the real agent CLIs, at pinned versions, into .cache/agent-clis
// (gitignored, not project dependencies), for the tests that run them. Does
// nothing when they are already there. Run by `npm test` (pretest) and
// .ci/run before any test starts: the tests themselves need no network.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_CLIS = {
  '@anthropic-ai/claude-code': '2.1.332',
  '@openai/codex': '0.171.0',
  '@google/gemini-cli': '0.61.0',
  'opencode-ai': '1.18.33',
};

const root = fileURLToPath(new URL('..', import.meta.url));
const prefix = path.join(root, '.cache', 'agent-clis');

function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(prefix, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

const missing = Object.entries(AGENT_CLIS).filter(([name, version]) => installedVersion(name) !== version);
if (missing.length === 0) {
  console.log(`agent CLIs present in ${path.relative(root, prefix)}`);
} else {
  fs.mkdirSync(prefix, { recursive: true });
  const specs = missing.map(([name, version]) => `${name}@${version}`);
  console.log(`installing ${specs.join(' ')} into ${path.relative(root, prefix)}`);
  execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', ...specs], { stdio: 'inherit', env: { ...process.env, npm_config_loglevel: 'error' } });
}
