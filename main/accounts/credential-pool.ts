import type { Backend } from '../../common/triggers.js';
import { credentialOf, type AccountRepository, type StoredAccount } from '../storage/account-repository.js';
import { isNoCredit } from './no-credit.js';

/** What an execution runs with: a backend, and one of its accounts (null: the environment's own credentials). */
export interface Choice {
  backend: Backend;
  account: StoredAccount | null;
}

/**
 * `wait`: nothing is usable until `until` (the earliest cool-down's end);
 * `over_budget`: nothing is cooling down, every account left is over its hard
 * budget — there is nothing to wait for this period. `reason` says why, in
 * words ("nothing is usable — claude account "a" is rate-limited until …").
 */
export type Selection = { kind: 'run'; choice: Choice } | { kind: 'wait'; until: number; reason: string } | { kind: 'over_budget'; reason: string };

export interface PoolOptions {
  accounts: AccountRepository;
  /** First cool-down after a rate limit that gave no reset time; doubled for each further one in a row, up to backoffMaxMs (or itself, when longer). */
  backoffBaseMs: number;
  backoffMaxMs?: number;
  /** An account over its hard budget is not usable until its period ends; `reason` completes "<account> is …". */
  accountBlocked?(accountId: string): { until: number; reason: string } | null;
  now?: () => number;
}

/**
 * Which backend and account an execution runs on. Accounts of a backend are
 * tried in priority order; one that is cooling down after a rate limit (or
 * over its budget) is passed over; when none of a backend is left, the next
 * backend of the trigger's fallback list is tried. When nothing is usable,
 * the answer is to wait until the earliest cool-down ends — or, when nothing
 * is cooling down and only budgets stand in the way, that it cannot run.
 */
export class CredentialPool {
  private readonly now: () => number;

  constructor(private readonly options: PoolOptions) {
    this.now = options.now ?? Date.now;
  }

  /** `backends`: the trigger's backend then its fallbacks, in order. */
  select(backends: readonly Backend[]): Selection {
    const now = this.now();
    let earliest: { until: number; reason: string } | undefined;
    let overBudget: string | undefined;
    const consider = (until: number, reason: string) => {
      if (!earliest || until < earliest.until) earliest = { until, reason };
    };
    for (const backend of [...new Set(backends)]) {
      const accounts = this.options.accounts.forBackend(backend);
      const candidates: (StoredAccount | null)[] = accounts.length === 0 ? [null] : accounts.filter((account) => account.enabled);
      for (const account of candidates) {
        const credential = credentialOf(backend, account?.id ?? null);
        const label = account ? `${backend} account "${account.name}"` : `${backend} (environment credentials)`;
        const cooldown = this.options.accounts.cooldown(credential);
        if (cooldown && cooldown.until > now) {
          const until = new Date(cooldown.until).toISOString();
          consider(cooldown.until, isNoCredit(cooldown.reason) ? `${label} has no credit (set aside until ${until})` : `${label} is rate-limited until ${until}`);
          continue;
        }
        const blocked = account ? this.options.accountBlocked?.(account.id) : null;
        if (blocked) {
          overBudget ??= `${label} is ${blocked.reason}`;
          continue;
        }
        return { kind: 'run', choice: { backend, account } };
      }
    }
    if (earliest) return { kind: 'wait', until: earliest.until, reason: `nothing is usable — ${earliest.reason}` };
    if (overBudget) return { kind: 'over_budget', reason: `nothing is usable — ${overBudget}` };
    return { kind: 'wait', until: now + this.options.backoffBaseMs, reason: `no enabled account for ${backends.join(', ')}` };
  }

  /**
   * Records a rate limit: the credential cools down until the reset time the
   * CLI gave, or for a growing backoff. Says when it may be used again, and
   * whether this rate limit left every account of the backend cooling down
   * (true once per such episode, for a single notification).
   */
  rateLimited(choice: Choice, retryAt: string | null, message: string): { until: number; allCoolingNow: boolean } {
    const credential = credentialOf(choice.backend, choice.account?.id ?? null);
    const now = this.now();
    const strikes = (this.options.accounts.cooldown(credential)?.strikes ?? 0) + 1;
    const reset = retryAt === null ? Number.NaN : Date.parse(retryAt);
    // Doubling stops at 30 minutes, or at the first backoff itself when it was set longer than that.
    const ceiling = Math.max(this.options.backoffBaseMs, this.options.backoffMaxMs ?? 30 * 60_000);
    const backoff = Math.min(this.options.backoffBaseMs * 2 ** (strikes - 1), ceiling);
    const until = Number.isFinite(reset) && reset > now ? reset : now + backoff;
    this.options.accounts.setCooldown({ credential, until, strikes, reason: message.slice(0, 500) });
    // Said once an episode, until one of them gets through again; not when a cool-down merely ends (the next try is
    // often rate-limited again: the same episode), nor when the worker restarts during it (it is stored).
    const allCoolingNow = this.allCooling(choice.backend) && !this.options.accounts.coolingAnnounced(choice.backend);
    if (allCoolingNow) this.options.accounts.setCoolingAnnounced(choice.backend, true);
    return { until, allCoolingNow };
  }

  /** A run that got through ends the credential's run of rate limits. */
  succeeded(choice: Choice): void {
    this.options.accounts.clearCooldown(credentialOf(choice.backend, choice.account?.id ?? null));
    this.options.accounts.setCoolingAnnounced(choice.backend, false);
  }

  /** Whether every account of the backend (or its environment credentials) is cooling down now. */
  allCooling(backend: Backend): boolean {
    const now = this.now();
    const accounts = this.options.accounts.forBackend(backend).filter((account) => account.enabled);
    const credentials = accounts.length === 0 ? [credentialOf(backend, null)] : accounts.map((account) => credentialOf(backend, account.id));
    return credentials.every((credential) => (this.options.accounts.cooldown(credential)?.until ?? 0) > now);
  }
}
