/**
 * Looks up `a.b.0.c` in parsed JSON. Missing steps give undefined; only own
 * properties are followed, so `__proto__` or `constructor` never reach
 * anything but data.
 */
export function lookupPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}

/** A value as text: strings as they are, other scalars via String, objects as compact JSON, nothing as ''. */
export function valueAsText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
