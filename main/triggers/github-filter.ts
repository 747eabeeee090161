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
