import { API_KEY_NAME, cookieSigningKey, rotateApiKey, type Credentials } from './credentials.js';
import type { SecretStore } from './keychain.js';

export interface LiveCredentialsDependencies {
  /** Where the key lives (the OS keychain); only used for a keychain-sourced key. */
  store: SecretStore;
  /** Told each new key before it is in effect (the logger's redactor), so it can never reach a log. */
  registerSecret: (value: string) => void;
  now?: () => Date;
}

/**
 * The credentials of a running worker. The API key is the one thing that can
 * change while it runs (POST /api/key/rotate): everything that checks a key
 * asks `apiKey` at the time of the request, so a rotation applies to the next
 * request. Session cookies are signed with `cookieKey`, which follows the
 * key: a rotation ends every browser session at once (the route gives the
 * caller's browser a fresh cookie). The session secret itself never changes.
 */
export class LiveCredentials {
  readonly sessionSecret: Buffer;
  readonly source: Credentials['source'];
  #apiKey: string;
  #cookieKey: Buffer;
  /** Rotations one after the other: two at once would each write and read back the other's key. */
  #rotating: Promise<unknown> = Promise.resolve();

  constructor(
    loaded: Credentials,
    private readonly deps: LiveCredentialsDependencies,
  ) {
    this.#apiKey = loaded.apiKey;
    this.#cookieKey = cookieSigningKey(loaded.sessionSecret, loaded.apiKey);
    this.sessionSecret = loaded.sessionSecret;
    this.source = loaded.source;
  }

  get apiKey(): string {
    return this.#apiKey;
  }

  /** Signs and checks session cookies (see cookieSigningKey); changes with the key. */
  get cookieKey(): Buffer {
    return this.#cookieKey;
  }

  /**
   * Stores a new key in the keychain and puts it in effect at once; resolves
   * with when. A keychain failure rejects (KeychainUnavailableError) with the
   * old key still in effect and, as far as the keychain lets us, still stored.
   * A key from AGENTED_API_KEY cannot be rotated here: callers check `source`.
   */
  rotate(): Promise<Date> {
    if (this.source !== 'keychain') return Promise.reject(new Error('the API key comes from AGENTED_API_KEY and cannot be rotated in process'));
    const rotation = this.#rotating.then(() => this.replace());
    this.#rotating = rotation.catch(() => undefined);
    return rotation;
  }

  private async replace(): Promise<Date> {
    const previous = this.#apiKey;
    let apiKey: string;
    try {
      apiKey = await rotateApiKey(this.deps.store);
    } catch (error) {
      // A write that landed but could not be read back would leave a key no one has; put the old one back if the store lets us.
      await this.deps.store.set(API_KEY_NAME, previous).catch(() => undefined);
      throw error;
    }
    this.deps.registerSecret(apiKey);
    this.#apiKey = apiKey;
    this.#cookieKey = cookieSigningKey(this.sessionSecret, apiKey);
    return (this.deps.now ?? (() => new Date()))();
  }
}
