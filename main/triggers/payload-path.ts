/**
 * Follows path segments (`['pull_request', 'labels', '0', 'name']`) into
 * parsed JSON. Missing steps give undefined; only own properties and array
 * indices are followed, so `__proto__`, `constructor` or `length` never reach
 * anything but data. No segments: the root itself.
 */
export function lookupSegments(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(segment)) return undefined;
      current = (current as unknown[])[Number(segment)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

/** `a.b.0.c` form of lookupSegments. */
export function lookupPath(root: unknown, path: string): unknown {
  return lookupSegments(root, path === '' ? [] : path.split('.'));
}

/**
 * A value as text: strings as they are, other scalars via String, objects and arrays as compact JSON,
 * nothing as ''. A value nested too deeply to write is '' too: JSON.parse took it at any depth, but
 * JSON.stringify recurses and would throw, failing the whole delivery over one placeholder.
 */
export function valueAsText(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      if (value === null) return '';
      try {
        return JSON.stringify(value) ?? '';
      } catch {
        return '';
      }
    default:
      return '';
  }
}
