/**
 * Dollars summed or divided in binary floating point are off by ~1e-17:
 * $0.01 + $0.09 is 0.09999999999999999 and $0.08 / $0.10 is 0.7999999999999999,
 * so a spend that reaches a limit would not count as reaching it, and a report
 * would say $0.30000000000000004. To the billionth, far finer than any price,
 * they come out exact.
 */
export function toBillionths(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
