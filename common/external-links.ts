/**
 * The sites the desktop app may hand to the OS browser. A page (or anything
 * injected into it, such as text from a webhook payload) may ask main to open
 * a link; an open-ended "any https: URL" would let it launch whatever the OS
 * associates with a crafted URL on any host, so the hosts are listed one by one
 * (https://www.electronjs.org/docs/latest/tutorial/security#15-do-not-use-shellopenexternal-with-untrusted-content).
 * docs/decisions.md ("External links: an allowlist of hosts") says why each is here.
 */
export const externalLinkHosts: readonly string[] = [
  // Repositories, pull requests and issues an execution worked on; webhook and app settings.
  'github.com',
  'docs.github.com',
  // The agent CLIs' documentation and the consoles where their API keys are made.
  'docs.anthropic.com',
  'docs.claude.com',
  'console.anthropic.com',
  'opencode.ai',
  'ai.google.dev',
  'aistudio.google.com',
  'developers.openai.com',
  'platform.openai.com',
  // The public relays the tunnel uses, and their dashboards.
  'smee.io',
  'ngrok.com',
  'dashboard.ngrok.com',
  // Slack apps for notifications (incoming webhooks are made there).
  'api.slack.com',
  // The webhook signature scheme a trigger can require.
  'www.standardwebhooks.com',
];

/** Longer than any link the app shows; a cap keeps a hostile page from handing main megabytes to parse. */
export const EXTERNAL_LINK_MAX_LENGTH = 2048;

/**
 * True for an https: URL on one of the listed hosts, exactly (no subdomains),
 * on the default port and without credentials: nothing else may leave the app.
 */
export function isAllowedExternalLink(url: string): boolean {
  if (url.length > EXTERNAL_LINK_MAX_LENGTH) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === 'https:' && parsed.port === '' && parsed.username === '' && parsed.password === '' && externalLinkHosts.includes(parsed.hostname);
}
