import fs from 'node:fs';
import { startWorker, type RunningWorker } from '../../main/worker/start-worker.js';
import { listFiles, makeTempDir } from './temp.js';

export const TEST_API_KEY = 'test-key-0123456789abcdefghijklmnop';

/** The built preparation thread (`npm test` builds first): webhook deliveries are prepared on it as in `agented serve`. */
const PREPARATION_THREAD = new URL('../../dist/main/triggers/preparation-thread.js', import.meta.url);

export interface InProcessServer {
  worker: RunningWorker;
  url: string;
  port: number;
  key: string;
  dataDir: string;
  logDir: string;
  close(): Promise<void>;
}

/**
 * The real worker (real SQLite file, real HTTP on port 0) inside the test
 * process. The key comes from AGENTED_API_KEY, so the keychain is not touched;
 * the keychain tests use a real Secret Service instead.
 */
export async function startInProcess(env: Record<string, string> = {}, options: { rendererDir?: string } = {}): Promise<InProcessServer> {
  const temp = makeTempDir();
  const dataDir = `${temp.dir}/data`;
  const logDir = `${temp.dir}/logs`;
  const worker = await startWorker({
    env: { HOME: temp.dir, AGENTED_API_KEY: TEST_API_KEY, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: logDir, AGENTED_PORT: '0', ...env },
    shutdownGraceMs: 2_000,
    rendererDir: options.rendererDir,
    preparationThreadScript: PREPARATION_THREAD,
  });
  return {
    worker,
    url: worker.url,
    port: worker.port,
    key: env.AGENTED_API_KEY ?? TEST_API_KEY,
    dataDir,
    logDir,
    close: async () => {
      await worker.close();
      temp.remove();
    },
  };
}

/** The worker's JSON log records, from every file in its log folder. */
export function workerLogRecords(server: InProcessServer): Record<string, unknown>[] {
  return listFiles(server.logDir)
    .flatMap((file) => fs.readFileSync(file, 'utf8').split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
