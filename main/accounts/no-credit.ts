/**
 * An account that cannot pay for a run: OpenAI answers a key whose organisation
 * has no credit left with a 429 `insufficient_quota`, and a ChatGPT plan that
 * does not include Codex with a 429 `usage_not_included`. Neither gives a reset
 * time, and each answers the same until someone pays: the account is set aside
 * for a day rather than tried again after a minute's backoff (docs/accounts.md,
 * "An account without credit").
 *
 * These are the words codex prints for the two (codex-rs/core/src/error.rs),
 * and opencode for them in a stream; its adapter words an HTTP one the same.
 * They are matched whole at the start of a message: other providers' rate
 * limits speak of quotas too (Gemini's per-minute limit is "You exceeded your
 * current quota…").
 */
export const NO_CREDIT_MESSAGES = {
  insufficient_quota: 'Quota exceeded. Check your plan and billing details.',
  usage_not_included: 'To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.',
} as const;

export const NO_CREDIT_COOLDOWN_MS = 24 * 3_600_000;

/** Whether a CLI's error message (or a cool-down's reason, which is one) says the account has no credit. */
export function isNoCredit(message: string): boolean {
  return Object.values(NO_CREDIT_MESSAGES).some((words) => message.startsWith(words));
}
