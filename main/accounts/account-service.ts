import path from 'node:path';
import { AccountCreate, AccountPatch, type Account } from '../../common/accounts.js';
import type { SecretStore } from '../secrets/keychain.js';
import { ApiError } from '../server/errors.js';
import { credentialOf, type AccountRepository, type StoredAccount } from '../storage/account-repository.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Actor } from '../triggers/trigger-service.js';
import { newId } from '../triggers/ids.js';
import { isNoCredit } from './no-credit.js';

export function accountKeyName(accountId: string): string {
  return `account:${accountId}:api-key`;
}

/**
 * The schema (shared with the renderer) takes both `/…` and `C:\…`; only this
 * platform's absolute form is one here: on POSIX `C:/…` is relative, and the
 * CLI would keep its login in a folder inside the execution's working directory.
 */
function checkConfigDir(configDir: string | null): void {
  if (configDir !== null && !path.isAbsolute(configDir)) {
    throw new ApiError('ERR_VALIDATION', undefined, [{ path: 'body.configDir', message: 'must be an absolute path' }]);
  }
}

/**
 * Account administration. An account's API key goes to the secret store (the
 * OS keychain, or sealed in SQLite when AGENTED_API_KEY bypasses it) and is
 * never returned, logged or written to an execution; only the runner reads
 * it back, to hand it to the CLI it starts.
 */
export class AccountService {
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly deps: { accounts: AccountRepository; secrets: SecretStore; audit: AuditRepository; registerSecret(value: string): void; now?: () => Date }) {}

  /** Told after an account was created, changed or deleted (the queue: an execution waiting for a usable account may start now). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  toApi(account: StoredAccount): Account {
    const stored = this.deps.accounts.cooldown(credentialOf(account.backend, account.id));
    const cooldown = stored && stored.until > (this.deps.now?.() ?? new Date()).getTime() ? stored : undefined;
    return {
      id: account.id,
      backend: account.backend,
      name: account.name,
      hasApiKey: account.hasApiKey,
      configDir: account.configDir,
      priority: account.priority,
      enabled: account.enabled,
      coolingDownUntil: cooldown ? new Date(cooldown.until).toISOString() : null,
      coolingDownReason: cooldown ? (isNoCredit(cooldown.reason) ? 'no_credit' : 'rate_limit') : null,
      createdAt: account.createdAt,
      updatedAt: account.updatedAt,
    };
  }

  list(): Account[] {
    return this.deps.accounts.all().map((account) => this.toApi(account));
  }

  get(id: string): StoredAccount {
    const account = this.deps.accounts.get(id);
    if (!account) throw new ApiError('ERR_ACCOUNT_NOT_FOUND');
    return account;
  }

  async create(input: unknown, actor: Actor): Promise<Account> {
    const definition = AccountCreate.parse(input);
    checkConfigDir(definition.configDir);
    const nameTaken = () => new ApiError('ERR_ACCOUNT_EXISTS', `The ${definition.backend} backend already has an account named "${definition.name}".`);
    if (this.deps.accounts.forBackend(definition.backend).some((account) => account.name === definition.name)) throw nameTaken();
    const id = newId('acc');
    if (definition.apiKey !== undefined) {
      this.deps.registerSecret(definition.apiKey);
      await this.deps.secrets.set(accountKeyName(id), definition.apiKey);
    }
    const now = this.now();
    const account: StoredAccount = {
      id,
      backend: definition.backend,
      name: definition.name,
      hasApiKey: definition.apiKey !== undefined,
      configDir: definition.configDir,
      priority: definition.priority,
      enabled: definition.enabled,
      createdAt: now,
      updatedAt: now,
    };
    if (!this.deps.accounts.insert(account)) {
      // Another request took the name while this one's key was being written: its key must not stay behind, owned by no account.
      if (definition.apiKey !== undefined) await this.deps.secrets.delete(accountKeyName(id));
      throw nameTaken();
    }
    this.deps.audit.record({ action: 'account.created', ...actor, targetId: id, detail: { backend: account.backend, name: account.name } });
    this.changed();
    return this.toApi(account);
  }

  async update(id: string, input: unknown, actor: Actor): Promise<Account> {
    const current = this.get(id);
    const patch = AccountPatch.parse(input);
    if (patch.configDir !== undefined) checkConfigDir(patch.configDir);
    if (patch.name !== undefined && patch.name !== current.name && this.deps.accounts.forBackend(current.backend).some((account) => account.name === patch.name)) {
      throw new ApiError('ERR_ACCOUNT_EXISTS', `The ${current.backend} backend already has an account named "${patch.name}".`);
    }
    const hasApiKey = patch.apiKey === null ? false : patch.apiKey !== undefined || current.hasApiKey;
    const configDir = patch.configDir === undefined ? current.configDir : patch.configDir;
    // Checked before the keychain is touched: a refused change must not have removed the stored key.
    if (!hasApiKey && configDir === null) {
      throw new ApiError('ERR_VALIDATION', 'An account needs an API key or a configuration folder.', [{ path: 'body.apiKey', message: 'an account needs an API key or a configuration folder' }]);
    }
    if (patch.apiKey === null) {
      await this.deps.secrets.delete(accountKeyName(id));
    } else if (patch.apiKey !== undefined) {
      this.deps.registerSecret(patch.apiKey);
      await this.deps.secrets.set(accountKeyName(id), patch.apiKey);
    }
    const next: StoredAccount = {
      ...current,
      name: patch.name ?? current.name,
      hasApiKey,
      configDir,
      priority: patch.priority ?? current.priority,
      enabled: patch.enabled ?? current.enabled,
      updatedAt: this.now(),
    };
    this.deps.accounts.update(next);
    // A cool-down belongs to the credential that was rate-limited: another key or login starts afresh (and whatever waits for the account runs now).
    // Switching the account on asks for it to be tried now: the way to say an account without credit has been paid for.
    if (typeof patch.apiKey === 'string' || configDir !== current.configDir || patch.enabled === true) this.deps.accounts.clearCooldown(credentialOf(current.backend, id));
    // The key itself is never audited, only that it changed.
    this.deps.audit.record({ action: 'account.updated', ...actor, targetId: id, detail: { fields: Object.keys(patch) } });
    this.changed();
    return this.toApi(next);
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const current = this.get(id);
    // The key first: a keychain that refuses (locked) leaves the account as it was, not deleted with its key left behind.
    if (current.hasApiKey) await this.deps.secrets.delete(accountKeyName(id));
    this.deps.accounts.remove(id);
    this.deps.accounts.clearCooldown(credentialOf(current.backend, id));
    this.deps.audit.record({ action: 'account.deleted', ...actor, targetId: id, detail: { backend: current.backend, name: current.name } });
    this.changed();
  }

  /** The account's API key, for the runner only. */
  async apiKeyOf(account: StoredAccount): Promise<string | null> {
    if (!account.hasApiKey) return null;
    const key = await this.deps.secrets.get(accountKeyName(account.id));
    // Without it the CLI would run on the environment's credentials, counted as this account's.
    if (key === null) {
      throw new Error(
        `the API key of ${account.backend} account "${account.name}" is not in the secret store (it was kept in the OS keychain and the worker now runs with AGENTED_API_KEY, or the other way round, or it was removed there); give the account its key again`,
      );
    }
    this.deps.registerSecret(key);
    return key;
  }

  private now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString();
  }
}
