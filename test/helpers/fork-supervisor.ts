import path from 'node:path';
import { ForkHost } from '../../main/supervisor/fork-host.js';
import { Supervisor } from '../../main/supervisor/supervisor.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { repoRoot } from './serve.js';
import { makeTempDir } from './temp.js';

export const SUPERVISOR_TEST_KEY = 'supervisor-test-key-0123456789ab';

export interface ForkedSupervisor {
  supervisor: Supervisor;
  /** The supervisor's logger, writing to `sink`. */
  logger: Logger;
  sink: MemorySink;
  dataDir: string;
  /** The API key's headers for requests to the worker. */
  auth: { authorization: string };
  /** Stops the supervisor (and its worker) and removes the temporary folders. */
  close(): Promise<void>;
}

/**
 * The Supervisor class in this process, hosting the built worker
 * (dist/main/worker/main.js) with the real ForkHost, as `agented serve` does,
 * in a fresh data folder, logging to memory.
 */
export function forkSupervisor(env: Record<string, string> = {}): ForkedSupervisor {
  const temp = makeTempDir();
  const dataDir = path.join(temp.dir, 'data');
  const sink = new MemorySink();
  const logger = Logger.create({ sink });
  const supervisor = new Supervisor({
    host: new ForkHost(path.join(repoRoot, 'dist', 'main', 'worker', 'main.js')),
    env: {
      HOME: temp.dir,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AGENTED_API_KEY: SUPERVISOR_TEST_KEY,
      AGENTED_DATA_DIR: dataDir,
      AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
      AGENTED_PORT: '0',
      AGENTED_LOG_STDOUT: '0',
      ...env,
    },
    logger,
  });
  return {
    supervisor,
    logger,
    sink,
    dataDir,
    auth: { authorization: `Bearer ${SUPERVISOR_TEST_KEY}` },
    close: async () => {
      await supervisor.stop();
      temp.remove();
    },
  };
}
