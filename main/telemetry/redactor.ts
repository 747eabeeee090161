/**
 * Removes secrets from log lines. Two nets: field names that hold credentials
 * are masked whatever their value, and every registered secret value is
 * replaced wherever it appears in the serialized line (a key pasted into a
 * URL or an error message is caught too).
 */
export class Redactor {
  static readonly MASK = '[REDACTED]';
  private static readonly SECRET_FIELD = /^(authorization|cookie|set-cookie|x-api-key|api[-_]?key|secret|.*[-_]secret|password|token|login[-_]?token)$/i;

  private readonly secrets = new Set<string>();

  /** Registers a value that must never be written; short values are refused to avoid masking noise. */
  addSecret(value: string): void {
    if (value.length >= 8) this.secrets.add(value);
  }

  isSecretField(name: string): boolean {
    return Redactor.SECRET_FIELD.test(name);
  }

  /** Replaces registered secrets in an already serialized line, in raw and JSON-escaped form. */
  scrub(line: string): string {
    let result = line;
    for (const secret of this.secrets) {
      // includes() first: on the common path (no secret in the line) nothing is copied.
      if (result.includes(secret)) result = result.split(secret).join(Redactor.MASK);
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret && result.includes(escaped)) result = result.split(escaped).join(Redactor.MASK);
    }
    return result;
  }
}
