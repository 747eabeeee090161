import type { PriceTable } from '../../common/budgets.js';
import { parseSetting, settingSource } from '../config/config.js';
import type { SettingsRepository } from '../storage/settings-repository.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The price table in use for new cost estimates. It starts as the worker's
 * configuration resolved it (AGENTED_PRICES > stored > `{}`) and is re-read
 * when PATCH /api/settings stores a new one, so a price set on the Usage page
 * applies to the next estimate without a restart. Kept in memory rather than
 * read from SQLite per estimate: a CLI reports usage many times per execution.
 */
export class PriceSetting {
  private table: PriceTable;

  constructor(private readonly deps: { env: Env; settings: SettingsRepository; initial: PriceTable }) {
    this.table = deps.initial;
  }

  current(): PriceTable {
    return this.table;
  }

  /** After a store. The environment still wins: its table (in `initial`) stays in use. */
  reload(): void {
    const stored = this.deps.settings.all();
    if (settingSource('prices', { env: this.deps.env, stored }) === 'environment') return;
    const raw = stored.prices;
    if (raw === undefined) {
      this.table = {};
      return;
    }
    // Validated when stored; a table edited by hand in the database that no longer parses leaves the last good one in use.
    const parsed = parseSetting('prices', raw);
    if (parsed.ok) this.table = parsed.value as PriceTable;
  }
}
