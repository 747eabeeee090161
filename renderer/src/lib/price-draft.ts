import type { PriceTable } from '../../../common/budgets.js';
import type { FieldIssue } from '../api/client.js';

/** One row of the price table being edited; an empty price is a cell not filled in yet. */
export interface PriceRow {
  /** Stable across edits of the key, so Vue keeps each row's inputs (and their focus). */
  id: number;
  key: string;
  inputPerMTok: number | '';
  outputPerMTok: number | '';
}

export type PriceField = 'key' | 'inputPerMTok' | 'outputPerMTok';
/** Messages by row id and field, and those that belong to no row (the table as a whole). */
export interface PriceIssues {
  rows: Record<number, Partial<Record<PriceField, string>>>;
  table: string[];
}

let nextId = 1;

export function emptyPriceRow(): PriceRow {
  return { id: nextId++, key: '', inputPerMTok: '', outputPerMTok: '' };
}

/** The table's rows sorted by key, so `codex` comes right before `codex/gpt-5`. */
export function priceRowsOf(table: PriceTable): PriceRow[] {
  return Object.entries(table)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, price]) => ({ id: nextId++, key, ...price }));
}

const isBlank = (row: PriceRow) => row.key.trim() === '' && row.inputPerMTok === '' && row.outputPerMTok === '';

/**
 * The body to store, or what must be filled in first. Only what a JSON object
 * cannot carry is checked here — a key listed twice would silently keep the
 * last, a cell left empty has no number — the server judges the rest (the key's
 * form, the range of a price) and its issues come back through `placeIssues`.
 */
export function toPriceTable(rows: readonly PriceRow[]): { ok: true; table: PriceTable } | { ok: false; issues: PriceIssues } {
  const issues: PriceIssues = { rows: {}, table: [] };
  const add = (row: PriceRow, field: PriceField, message: string) => (issues.rows[row.id] = { ...issues.rows[row.id], [field]: message });
  const seen = new Set<string>();
  const table: PriceTable = {};
  for (const row of rows.filter((candidate) => !isBlank(candidate))) {
    const key = row.key.trim();
    if (key === '') add(row, 'key', 'name a CLI (codex) or a CLI and model (codex/gpt-5)');
    else if (seen.has(key)) add(row, 'key', 'listed twice: keep one row per CLI or model');
    seen.add(key);
    if (row.inputPerMTok === '') add(row, 'inputPerMTok', 'enter a price (0 for free)');
    if (row.outputPerMTok === '') add(row, 'outputPerMTok', 'enter a price (0 for free)');
    if (row.inputPerMTok !== '' && row.outputPerMTok !== '') table[key] = { inputPerMTok: row.inputPerMTok, outputPerMTok: row.outputPerMTok };
  }
  return Object.keys(issues.rows).length > 0 ? { ok: false, issues } : { ok: true, table };
}

/**
 * The server's issues (`body.prices.<key>`, `body.prices.<key>.inputPerMTok`, `body.prices`)
 * under the row whose key they name. Keys may hold dots (`codex/gpt-4.1`), so a path is
 * matched against each row's whole key rather than split on dots.
 */
export function placeIssues(rows: readonly PriceRow[], serverIssues: readonly FieldIssue[]): PriceIssues {
  const placed: PriceIssues = { rows: {}, table: [] };
  const fields: Record<string, PriceField> = { '': 'key', '.inputPerMTok': 'inputPerMTok', '.outputPerMTok': 'outputPerMTok' };
  for (const issue of serverIssues) {
    const owner = rows
      .map((row) => ({ row, base: `body.prices.${row.key.trim()}` }))
      .find(({ base }) => issue.path.startsWith(base) && fields[issue.path.slice(base.length)] !== undefined);
    if (!owner) {
      placed.table.push(issue.message);
      continue;
    }
    const field = fields[issue.path.slice(owner.base.length)]!;
    // The first message of a field is enough to act on.
    placed.rows[owner.row.id] = { [field]: issue.message, ...placed.rows[owner.row.id] };
  }
  return placed;
}
