/**
 * Removes secrets from log lines. Two nets: field names that hold credentials
 * are masked whatever their value, and every registered secret value is
 * replaced wherever it appears in the serialized line (a key pasted into a
 * URL or an error message is caught too).
 */
const MAX_REMEMBERED_FIELDS = 1_000;

export class Redactor {
  static readonly MASK = '[REDACTED]';
  private static readonly SECRET_FIELD = /^(authorization|cookie|set-cookie|x-api-key|api[-_]?key|secret|.*[-_]secret|password|token|login[-_]?token)$/i;

  /** Each registered secret with its JSON-escaped form, when that differs (worked out once, not per line). */
  private readonly secrets = new Map<string, string | null>();
  /** Answers of isSecretField by name: every log line asks for each of its field names, and the names are few. */
  private readonly secretFields = new Map<string, boolean>();

  /** Registers a value that must never be written; short values are refused to avoid masking noise. */
  addSecret(value: string): void {
    if (value.length < 8 || this.secrets.has(value)) return;
    const escaped = JSON.stringify(value).slice(1, -1);
    this.secrets.set(value, escaped === value ? null : escaped);
  }

  isSecretField(name: string): boolean {
    let secret = this.secretFields.get(name);
    if (secret === undefined) {
      secret = Redactor.SECRET_FIELD.test(name);
      // Bounded: names are the code's own field names, but a caller could log an object with made-up keys.
      if (this.secretFields.size >= MAX_REMEMBERED_FIELDS) this.secretFields.clear();
      this.secretFields.set(name, secret);
    }
    return secret;
  }

  /** Replaces registered secrets in an already serialized line, in raw and JSON-escaped form. */
  scrub(line: string): string {
    let result = line;
    for (const [secret, escaped] of this.secrets) {
      // includes() first: on the common path (no secret in the line) nothing is copied.
      if (result.includes(secret)) result = result.split(secret).join(Redactor.MASK);
      if (escaped !== null && result.includes(escaped)) result = result.split(escaped).join(Redactor.MASK);
    }
    return result;
  }
}
