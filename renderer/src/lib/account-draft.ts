import type { Account, AccountCreate, AccountPatch } from '../../../common/accounts.js';
import type { Backend } from '../../../common/triggers.js';

/** How an account signs in: a key Agented hands to the CLI, or the CLI's own login kept in a folder of its own. */
export type CredentialKind = 'apiKey' | 'configDir';

/** What the account form edits. The key is write-only: it starts empty and is sent only when typed. */
export interface AccountDraft {
  backend: Backend;
  name: string;
  credential: CredentialKind;
  apiKey: string;
  configDir: string;
  priority: number | '';
  enabled: boolean;
}

export function emptyAccountDraft(backend: Backend = 'claude'): AccountDraft {
  return { backend, name: '', credential: 'apiKey', apiKey: '', configDir: '', priority: 100, enabled: true };
}

export function accountDraftOf(account: Account): AccountDraft {
  return {
    backend: account.backend,
    name: account.name,
    credential: account.hasApiKey || account.configDir === null ? 'apiKey' : 'configDir',
    apiKey: '',
    configDir: account.configDir ?? '',
    priority: account.priority,
    enabled: account.enabled,
  };
}

/**
 * The body of `POST /api/accounts`. Nothing is checked here: an empty key or
 * folder is left out, and the server's own issue ("an account needs an API
 * key or a configuration folder") lands under the credential field.
 */
export function toAccountCreate(draft: AccountDraft): AccountCreate {
  const body: AccountCreate = { backend: draft.backend, name: draft.name, enabled: draft.enabled };
  if (draft.priority !== '') body.priority = draft.priority;
  if (draft.credential === 'apiKey' && draft.apiKey !== '') body.apiKey = draft.apiKey;
  if (draft.credential === 'configDir' && draft.configDir.trim() !== '') body.configDir = draft.configDir.trim();
  return body;
}

/**
 * The body of `PATCH /api/accounts/:id`: only what changed. Switching from a
 * key to a folder removes the stored key (`apiKey: null`), and back again
 * clears the folder; a key left empty keeps the stored one.
 */
export function toAccountPatch(draft: AccountDraft, account: Account): AccountPatch {
  const patch: AccountPatch = {};
  if (draft.name !== account.name) patch.name = draft.name;
  // An emptied number field is sent as null (NaN in JSON), so the server's issue says what is wanted.
  if (draft.priority !== account.priority) patch.priority = draft.priority === '' ? Number.NaN : draft.priority;
  if (draft.enabled !== account.enabled) patch.enabled = draft.enabled;
  if (draft.credential === 'apiKey') {
    if (draft.apiKey !== '') patch.apiKey = draft.apiKey;
    if (account.configDir !== null) patch.configDir = null;
  } else {
    const folder = draft.configDir.trim();
    if (folder !== (account.configDir ?? '')) patch.configDir = folder === '' ? null : folder;
    if (account.hasApiKey) patch.apiKey = null;
  }
  return patch;
}

/** The credential as the list shows it: never the key itself, which the API does not return. */
export function credentialWords(account: Pick<Account, 'hasApiKey' | 'configDir'>): string {
  if (account.hasApiKey) return 'API key (stored, hidden)';
  if (account.configDir !== null) return 'configuration folder';
  return 'none';
}

/** Where each backend's CLI keeps a login, for the folder field's help. */
export const CONFIG_VARIABLE: Record<Backend, string> = {
  claude: 'CLAUDE_CONFIG_DIR',
  codex: 'CODEX_HOME',
  gemini: 'GEMINI_CLI_HOME',
  opencode: 'XDG_DATA_HOME',
};
