import type { OutputMask } from './log-store.js';

/** Values shorter than this are not masked: no real credential is that short, and masking one would garble ordinary output. */
const MIN_LENGTH = 8;
const MASK = '[REDACTED]';

/**
 * The credentials a CLI was given, masked in what it prints. A stored line is
 * one JSON record whose text is the CLI's line — often JSON itself — so a
 * value can be in it as it is, escaped once (in the text of a plain line, or
 * in a parsed event), or escaped twice (in a JSON line's text): each form is
 * replaced.
 */
export class CredentialMask implements OutputMask {
  private readonly forms: string[];

  private constructor(forms: string[]) {
    this.forms = forms;
  }

  /** A mask for these values, or undefined when none is worth masking. */
  static of(values: readonly (string | undefined)[]): CredentialMask | undefined {
    const forms = new Set<string>();
    for (const value of values) {
      if (value === undefined || value.length < MIN_LENGTH) continue;
      const once = escaped(value);
      forms.add(value).add(once).add(escaped(once));
    }
    // Longest first: a form is never left half replaced by a shorter one that overlaps it.
    return forms.size === 0 ? undefined : new CredentialMask([...forms].sort((a, b) => b.length - a.length));
  }

  /** Characters of the longest form a credential takes: a text cut into pieces must see this far past a cut to mask across it. */
  get reach(): number {
    return this.forms[0]!.length;
  }

  scrub(text: string): string {
    let result = text;
    // includes() first: on the common path (no credential in the line) nothing is copied.
    for (const form of this.forms) if (result.includes(form)) result = result.split(form).join(MASK);
    return result;
  }
}

/** A string as it stands inside a JSON string. */
function escaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}
