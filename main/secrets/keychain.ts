import { AsyncEntry } from '@napi-rs/keyring';

/** A place for named secrets. The OS keychain in production; nothing else ever holds them. */
export interface SecretStore {
  /** Resolves null when the secret does not exist; rejects when the store cannot be read. */
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<boolean>;
}

export class KeychainUnavailableError extends Error {
  readonly code = 'ERR_KEYCHAIN_UNAVAILABLE';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`The OS keychain cannot be used: ${detail}. ${keychainFix()}`, options);
    this.name = 'KeychainUnavailableError';
  }
}

export function keychainFix(platform: NodeJS.Platform = process.platform): string {
  switch (platform) {
    case 'darwin':
      return 'Fix: unlock the login keychain (security unlock-keychain ~/Library/Keychains/login.keychain-db), or set AGENTED_API_KEY to run without the keychain.';
    case 'win32':
      return 'Fix: make sure Windows Credential Manager is available for this user, or set AGENTED_API_KEY to run without the keychain.';
    default:
      return 'Fix: start and unlock a Secret Service (log in to a desktop session, or run `echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets` inside a D-Bus session), or set AGENTED_API_KEY to run without the keychain.';
  }
}

/**
 * The OS keychain through @napi-rs/keyring (macOS Keychain, Windows Credential
 * Manager, Secret Service on Linux). Errors are turned into
 * KeychainUnavailableError so callers never mistake "locked" for "empty".
 */
export class OsKeychain implements SecretStore {
  constructor(private readonly service = 'agented') {}

  async get(name: string): Promise<string | null> {
    try {
      return await this.entry(name).getPassword();
    } catch (error) {
      throw new KeychainUnavailableError(`reading "${name}" failed (${describe(error)})`, { cause: error });
    }
  }

  async set(name: string, value: string): Promise<void> {
    try {
      await this.entry(name).setPassword(value);
    } catch (error) {
      throw new KeychainUnavailableError(`writing "${name}" failed (${describe(error)})`, { cause: error });
    }
  }

  async delete(name: string): Promise<boolean> {
    try {
      return await this.entry(name).deletePassword();
    } catch (error) {
      throw new KeychainUnavailableError(`deleting "${name}" failed (${describe(error)})`, { cause: error });
    }
  }

  private entry(name: string): AsyncEntry {
    return new AsyncEntry(this.service, name);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
