/**
 * Wraps a command so it runs inside a private D-Bus session with its own
 * gnome-keyring Secret Service: a real keychain, isolated by HOME (the keyring
 * file lives in $HOME/.local/share/keyrings, so a second session with the same
 * HOME and password sees the same secrets — a "restart").
 *
 * unlock: true  → the login keyring is created/unlocked with `password`.
 * unlock: false → the daemon runs but the keyring stays locked (no prompter
 *                 can answer here), which is what a locked desktop keychain
 *                 looks like to Agented.
 */
export function inSecretService(options: { unlock: boolean; password?: string; busAddressFile?: string }): (argv: string[]) => string[] {
  const password = options.password ?? 'test-keyring-password';
  const daemon = options.unlock
    ? `printf '%s' '${password}' | gnome-keyring-daemon --unlock --components=secrets >/dev/null`
    : 'gnome-keyring-daemon --start --components=secrets >/dev/null';
  // busAddressFile: where the session's bus address is written, so a test can reach the same keyring (lockKeyring).
  const start = options.busAddressFile ? `${daemon} && printf '%s' "$DBUS_SESSION_BUS_ADDRESS" > '${options.busAddressFile}'` : daemon;
  return (argv) => ['dbus-run-session', '--', 'bash', '-c', `${start} && exec "$@"`, 'agented-test', ...argv];
}
