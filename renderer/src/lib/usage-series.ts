import type { UsageReport } from '../../../common/budgets.js';

export type UsageRow = UsageReport['total'];
export type UsageDimension = 'byTrigger' | 'byBackend' | 'byAccount';

/** One bar chart's data: a bar per row, stacked datasets. Independent of the chart library, so it can be checked on its own. */
export interface UsageSeries {
  labels: string[];
  datasets: { id: 'reported' | 'estimated' | 'input' | 'output'; label: string; data: number[] }[];
}

/** Rounded to a hundredth of a cent: sums of float costs carry noise the chart's tooltip would show. */
const cents = (usd: number) => Math.round(usd * 10_000) / 10_000;

/**
 * Cost per row, split in what the CLIs reported and what was estimated from
 * the price table (tokens × price, for CLIs that report no cost): the
 * estimate is its own dataset, so the chart marks it apart.
 */
export function costSeries(rows: UsageRow[]): UsageSeries {
  return {
    labels: rows.map((row) => row.label),
    datasets: [
      { id: 'reported', label: 'Cost reported by the CLI', data: rows.map((row) => cents(Math.max(0, row.costUsd - row.estimatedUsd))) },
      { id: 'estimated', label: 'Cost estimated from the price table', data: rows.map((row) => cents(row.estimatedUsd)) },
    ],
  };
}

/** Input and output tokens per row. */
export function tokenSeries(rows: UsageRow[]): UsageSeries {
  return {
    labels: rows.map((row) => row.label),
    datasets: [
      { id: 'input', label: 'Input tokens', data: rows.map((row) => row.inputTokens) },
      { id: 'output', label: 'Output tokens', data: rows.map((row) => row.outputTokens) },
    ],
  };
}

/** A dataset that is zero everywhere says nothing: a chart without estimates shows no estimate in its legend. */
export function withoutEmpty(series: UsageSeries): UsageSeries {
  return { ...series, datasets: series.datasets.filter((dataset) => dataset.data.some((value) => value !== 0)) };
}

export const DIMENSIONS: { key: UsageDimension; title: string; what: string }[] = [
  { key: 'byTrigger', title: 'By trigger', what: 'trigger' },
  { key: 'byBackend', title: 'By CLI', what: 'CLI' },
  { key: 'byAccount', title: 'By account', what: 'account' },
];
