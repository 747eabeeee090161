import type { TriggerDefinition } from '../../common/triggers.js';

export type GithubMatch = { matched: true; event: string } | { matched: false; reason: string };

function get(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The text a mention is looked for in: the comment, else the issue or pull request body. */
function mentionText(payload: unknown): string {
  for (const candidate of [get(get(payload, 'comment'), 'body'), get(get(payload, 'issue'), 'body'), get(get(payload, 'pull_request'), 'body'), get(get(payload, 'review'), 'body')]) {
    if (typeof candidate === 'string') return candidate;
  }
  return '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Does a GitHub delivery match the trigger's filters? `events` lists
 * `event` (any action) or `event.action` (X-GitHub-Event plus the payload's
 * `action`), e.g. `pull_request.opened`, `issue_comment.created`. With a
 * `mention`, the comment (or issue/PR body) must mention it as a whole word.
 */
export function matchGithubDelivery(filters: NonNullable<TriggerDefinition['github']>, event: string, payload: unknown): GithubMatch {
  const action = get(payload, 'action');
  const name = typeof action === 'string' ? `${event}.${action}` : event;
  if (!filters.events.some((wanted) => wanted === event || wanted === name)) {
    return { matched: false, reason: `event ${name} is not in the trigger's events (${filters.events.join(', ')})` };
  }
  if (filters.mention) {
    const pattern = new RegExp(`(^|[^\\w@-])${escapeRegExp(filters.mention)}(?![\\w-])`, 'i');
    if (!pattern.test(mentionText(payload))) return { matched: false, reason: `the text does not mention ${filters.mention}` };
  }
  return { matched: true, event: name };
}
