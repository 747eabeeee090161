/**
 * The exit codes of the `agented` command (docs/headless.md, "Exit codes"). A
 * failure has the same code whether the command found it itself or `serve`'s
 * worker reported it at start-up, so a script or a service manager can tell
 * the causes apart without reading the message.
 */
export const EXIT_FAILURE = 1;
/** Wrong usage or an invalid setting (an AGENTED_* variable, or one stored with PATCH /api/settings). */
export const EXIT_CONFIG = 2;
export const EXIT_KEYCHAIN_UNAVAILABLE = 3;
export const EXIT_DATABASE_TOO_NEW = 4;
/** Another instance uses the data dir (EX_TEMPFAIL: it may be free later). */
export const EXIT_DATA_DIR_IN_USE = 75;

const BY_ERROR_CODE: Record<string, number> = {
  ERR_CONFIG: EXIT_CONFIG,
  ERR_KEYCHAIN_UNAVAILABLE: EXIT_KEYCHAIN_UNAVAILABLE,
  ERR_DATABASE_TOO_NEW: EXIT_DATABASE_TOO_NEW,
  ERR_DATA_DIR_IN_USE: EXIT_DATA_DIR_IN_USE,
};

/** The exit code for an error's code (`ERR_…`); any other failure is 1. */
export function exitCodeFor(errorCode: string | undefined): number {
  return (errorCode !== undefined && BY_ERROR_CODE[errorCode]) || EXIT_FAILURE;
}
