import type { TriggerDefinition } from '../../common/triggers.js';

export type GithubMatch = { matched: true; event: string } | { matched: false; reason: string };

function get(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * The text a mention is looked for in: that of what the event is about, the comment, else the review, else
 * the issue or pull request. A review's or comment's payload carries its pull request or issue too, whose
 * description is not what was just written (and a review without a body has no text, not the description's).
 */
function mentionText(payload: unknown): string {
  for (const subject of ['comment', 'review', 'issue', 'pull_request']) {
    const object = get(payload, subject);
    if (typeof object === 'object' && object !== null) {
      const body = get(object, 'body');
      return typeof body === 'string' ? body : '';
    }
  }
  return '';
}

/**
 * The text without what merely shows a mention rather than makes one: quoted lines (GitHub's "Quote
 * reply" copies an earlier comment, mention and all, as `> …`), fenced code blocks and inline code.
 * A reply quoting "@agented fix this" would otherwise start the same work again.
 */
function ownWords(text: string): string {
  // A line left out becomes an empty one: like a blank line, it ends the paragraph before it.
  const kept: string[] = [];
  let fence: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const start = line.trimStart();
    const marker = /^(`{3,}|~{3,})/.exec(start)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      kept.push('');
      continue;
    }
    if (marker !== undefined) {
      fence = marker;
      kept.push('');
      continue;
    }
    kept.push(start.startsWith('>') ? '' : line);
  }
  // Inline code is looked for a paragraph at a time: a stray backtick must not pair with one in a later paragraph, hiding what is between.
  return kept
    .join('\n')
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.replace(/(`+)[\s\S]*?\1/g, ' '))
    .join('\n\n');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Does a GitHub delivery match the trigger's filters? `events` lists
 * `event` (any action) or `event.action` (X-GitHub-Event plus the payload's
 * `action`), e.g. `pull_request.opened`, `issue_comment.created`. With a
 * `mention`, the comment (or review, or issue/PR body) must mention it as a whole word, outside
 * quoted lines and code.
 */
export function matchGithubDelivery(filters: NonNullable<TriggerDefinition['github']>, event: string, payload: unknown): GithubMatch {
  const action = get(payload, 'action');
  const name = typeof action === 'string' ? `${event}.${action}` : event;
  if (!filters.events.some((wanted) => wanted === event || wanted === name)) {
    return { matched: false, reason: `event ${name} is not in the trigger's events (${filters.events.join(', ')})` };
  }
  if (filters.mention) {
    const pattern = new RegExp(`(^|[^\\w@-])${escapeRegExp(filters.mention)}(?![\\w-])`, 'i');
    if (!pattern.test(ownWords(mentionText(payload)))) return { matched: false, reason: `the text does not mention ${filters.mention}` };
  }
  return { matched: true, event: name };
}
