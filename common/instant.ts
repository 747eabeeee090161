import { z } from 'zod';

/**
 * An instant with its offset (`2026-11-26T09:00:00Z`, `2026-11-26T10:00:00+01:00`), as a filter takes it.
 * Stored times are compared as text in the form toISOString writes, which keeps time order only from
 * year 0000 to 9999 in UTC: `9999-12-31T23:59:59-05:00` is `+010000-01-01T04:59:59.000Z`, which sorts
 * before every 2026 time. (`abort`: a value that is no instant at all gets one issue, not two.)
 */
export const Instant = z.iso.datetime({ offset: true, abort: true }).refine((value) => {
  const year = new Date(value).getUTCFullYear();
  return year >= 0 && year <= 9999;
}, 'must fall in the years 0000 to 9999 in UTC');
