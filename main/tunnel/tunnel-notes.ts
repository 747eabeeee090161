import type { TunnelProvider } from '../../common/tunnel.js';

/**
 * What each provider can and cannot do, shown with its state (GET /api/tunnel)
 * so the UI is honest about the trade-offs. docs/tunnels.md says the same.
 */
export function tunnelNotes(provider: TunnelProvider): string[] {
  switch (provider) {
    case 'off':
      return ['No tunnel: only this machine (and whatever can reach its bind address) can deliver webhooks.'];
    case 'smee':
      return [
        'smee.io is a free public relay: anyone who knows the channel URL can watch the deliveries and send their own. Keep the URL private and keep signature checks on.',
        "Deliveries sent while Agented is not connected are lost: smee.io keeps nothing and answers the sender 200 either way, so GitHub shows them as delivered. Redeliver them from the webhook's Recent Deliveries.",
        "The relay re-serialises the JSON body, so a signature over the original bytes can fail (whitespace, escaped characters); such failures are explained under lastRelayedFailure. For signed webhooks that must not fail, use ngrok or a custom tunnel.",
        'Only JSON bodies are relayed: set the GitHub webhook content type to application/json.',
        "The sender never sees Agented's answer (duplicate, signature error): smee.io has already answered 200.",
        'Only POST /hooks/<trigger> is forwarded; the webhook URL names it in ?path=, and every other path is refused.',
      ];
    case 'ngrok':
      return [
        'Raw HTTP is forwarded unchanged, so webhook signatures verify.',
        'Without a reserved domain the URL changes on every start and the webhooks in GitHub must be updated; a free account has one static domain.',
        'Deliveries sent while Agented is offline fail at ngrok; GitHub records the failure and they can be redelivered.',
        'Only POST /hooks/<trigger> is forwarded; every other path answers 404 and never reaches the API.',
        'The authtoken is kept in the keychain and never returned or logged.',
      ];
    case 'custom':
      return [
        'Agented does not run or check this tunnel: it only shows its URL in the webhook setup.',
        'Forward only /hooks/ to Agented (cloudflared: an ingress rule with path ^/hooks/); the rest of the API needs the key but need not be public.',
        'The public host name must be accepted by the Host check: add it to AGENTED_ALLOWED_HOSTS, or have the proxy send Host: 127.0.0.1.',
      ];
    default:
      return provider satisfies never;
  }
}
