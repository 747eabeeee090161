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

  /** The secrets registered: registering one again changes nothing. */
  private readonly secrets = new Set<string>();
  /**
   * What a line is searched for: every secret in both forms, the longest first, so a secret that begins with
   * another is masked whole rather than the shorter one's mask leaving its tail showing.
   */
  private patterns: string[] = [];
  /** Answers of isSecretField by name: every log line asks for each of its field names, and the names are few. */
  private readonly secretFields = new Map<string, boolean>();

  /** Registers a value that must never be written; short values are refused to avoid masking noise. */
  addSecret(value: string): void {
    if (value.length < 8 || this.secrets.has(value)) return;
    this.secrets.add(value);
    const escaped = JSON.stringify(value).slice(1, -1);
    this.patterns = [...new Set([...this.patterns, value, escaped])].sort((a, b) => b.length - a.length);
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
    for (const pattern of this.patterns) {
      // includes() first: on the common path (no secret in the line) nothing is copied.
      if (result.includes(pattern)) result = result.split(pattern).join(Redactor.MASK);
    }
    return result;
  }
}
