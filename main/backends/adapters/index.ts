import type { Backend } from '../../../common/triggers.js';
import type { BackendAdapter } from '../adapter.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { geminiAdapter } from './gemini.js';
import { opencodeAdapter } from './opencode.js';

/** The adapter of each agent CLI. */
export const backendAdapters: Readonly<Record<Backend, BackendAdapter>> = {
  claude: claudeAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  opencode: opencodeAdapter,
};
