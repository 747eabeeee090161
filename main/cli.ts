#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { doctor } from './cli/doctor.js';
import { keyRotate, keyShow } from './cli/key.js';
import { serve } from './cli/serve.js';
import { ConfigError } from './config/config.js';
import { KeychainUnavailableError } from './secrets/keychain.js';
import { DatabaseTooNewError } from './storage/database.js';
import { EXIT_CONFIG, EXIT_FAILURE, exitCodeFor } from './cli/exit-codes.js';
import { readVersion } from './version.js';

const USAGE = `Usage:
  agented serve [--host H] [--port P] [--data-dir D]   run the API headless (supervisor + worker)
  agented doctor [--json]                              check the agent CLIs (exit 1 when none is usable)
  agented key show                                     print the API key
  agented key rotate                                   replace the API key in the keychain
  agented --version                                    print the version

Configuration comes from AGENTED_* environment variables; see .env.example.`;

const COMMANDS = new Set(['serve', 'doctor', 'key']);

async function run(argv: string[]): Promise<number> {
  const [given, ...rest] = argv;
  // Asked for help, a command answers it rather than refusing --help as an unknown option; an unknown one is still named.
  const command = COMMANDS.has(given ?? '') && (rest.includes('--help') || rest.includes('-h')) ? 'help' : given;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({
        args: rest,
        options: { host: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' } },
        strict: true,
      });
      return serve({ host: values.host, port: values.port, dataDir: values['data-dir'] });
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } }, strict: true });
      return doctor({ json: values.json ?? false });
    }
    case 'key':
      if (rest[0] === 'show' && rest.length === 1) return keyShow();
      if (rest[0] === 'rotate' && rest.length === 1) return keyRotate();
      break;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case '--version':
      process.stdout.write(`${readVersion()}\n`);
      return 0;
    default:
      break;
  }
  const unknown = command === undefined ? '' : `agented: unknown command ${JSON.stringify(argv.join(' '))}\n`;
  process.stderr.write(`${unknown}${USAGE}\n`);
  return EXIT_CONFIG;
}

// A reader that went away (`agented serve | head -n 1`, `2>&1 | head -n 1`, `agented doctor | head -c 0`, a closed
// terminal) is no failure of the command: it must not end the supervisor (the log file keeps every line), and no
// other command dies of it with a stack trace; each exits with its own code. Output refused otherwise (`agented key
// show > file` on a full disk) is lost, not declined: the command fails, or a script would go on with an empty file.
const READER_GONE = new Set(['EPIPE', 'ECONNRESET', 'EIO']);
let outputLost = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (outputLost || READER_GONE.has(error.code ?? '')) return;
  outputLost = true;
  process.stderr.write(`agented: the output could not be written: ${error.message}\n`);
  // The error can come after the command has ended (an append to a file fails on the next tick).
  process.exitCode = EXIT_FAILURE;
});
process.stderr.on('error', () => undefined);

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = outputLost ? EXIT_FAILURE : code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`agented: ${error.message}\n`);
      process.exitCode = EXIT_CONFIG;
    } else if (error instanceof KeychainUnavailableError || error instanceof DatabaseTooNewError) {
      process.stderr.write(`agented: ${error.message}\n`);
      process.exitCode = exitCodeFor(error.code);
    } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`agented: ${(error as Error).message}\n${USAGE}\n`);
      process.exitCode = EXIT_CONFIG;
    } else {
      process.stderr.write(`agented: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT_FAILURE;
    }
  },
);
