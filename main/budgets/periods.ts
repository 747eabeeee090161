import type { BudgetPeriod } from '../../common/budgets.js';

/**
 * The period `at` falls in, in the server's local time zone (a "day" is the
 * user's day, not UTC's): days start at midnight, weeks on Monday, months on
 * the 1st. `end` is exclusive.
 */
export function periodAt(period: BudgetPeriod, at: Date): { start: Date; end: Date } {
  const start = new Date(at.getFullYear(), at.getMonth(), at.getDate());
  switch (period) {
    case 'day':
      return { start, end: new Date(start.getFullYear(), start.getMonth(), start.getDate() + 1) };
    case 'week': {
      // getDay: 0 is Sunday; weeks start on Monday.
      const monday = new Date(start.getFullYear(), start.getMonth(), start.getDate() - ((start.getDay() + 6) % 7));
      return { start: monday, end: new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 7) };
    }
    case 'month': {
      const first = new Date(at.getFullYear(), at.getMonth(), 1);
      return { start: first, end: new Date(first.getFullYear(), first.getMonth() + 1, 1) };
    }
    default:
      return period satisfies never;
  }
}
