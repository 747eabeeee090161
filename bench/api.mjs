// The hardened HTTP stack against bare Node http, same payload, same load.
// Both servers run as their own processes (Agented as the real `agented serve`
// with its supervisor), and the load comes from this process, so neither
// competes with the load generator for its event loop.
// Path measured: request id, Host allowlist, helmet, CORS, API-key check
// (constant time), routing, JSON answer, access-log line to file and stdout.
import autocannon from 'autocannon';
import { startProcess, withTempDir } from './processes.mjs';

const KEY = 'bench-key-0123456789abcdefghijklmnop';
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);

function load(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function summary(result) {
  return { requestsPerSecond: Math.round(result.requests.average), p99Ms: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

export const api = {
  name: 'api',
  async run() {
    return withTempDir((temp) => this.measure(temp));
  },
  async measure(temp) {
    const bare = await startProcess(['bench/bare-server.mjs'], {});
    const bareExpress = await startProcess(['bench/express-server.mjs'], {});
    const agented = await startProcess(['dist/main/cli.js', 'serve', '--port', '0'], {
      HOME: temp,
      AGENTED_API_KEY: KEY,
      AGENTED_DATA_DIR: `${temp}/data`,
      AGENTED_LOG_DIR: `${temp}/logs`,
      // The access log still goes to the log file; stdout is the bench's pipe.
      AGENTED_LOG_STDOUT: '0',
    });
    try {
      const bareUrl = `${bare.url}/api/session`;
      const agentedUrl = `${agented.url}/api/session`;
      const withKey = { authorization: `Bearer ${KEY}` };
      await load(bareUrl, {}); // warm-up
      const baseline = summary(await load(bareUrl, {}));
      await load(`${bareExpress.url}/api/session`, {});
      const expressOnly = summary(await load(`${bareExpress.url}/api/session`, {}));
      await load(agentedUrl, withKey);
      const measured = summary(await load(agentedUrl, withKey));
      const rejected = summary(await load(agentedUrl, {}));
      const result = {
        name: 'GET /api/session with the key (full middleware stack, agented serve) vs bare node:http',
        connections: CONNECTIONS,
        durationSeconds: DURATION_S,
        baseline,
        agented: measured,
        ratio: Number((measured.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
        bareExpress: { ...expressOnly, ratio: Number((expressOnly.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)) },
        ratioToBareExpress: Number((measured.requestsPerSecond / expressOnly.requestsPerSecond).toFixed(3)),
        rejectedWithoutKey: { ...rejected, ratio: Number((rejected.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)) },
      };
      console.log(
        `${result.name}: ${measured.requestsPerSecond} req/s (p99 ${measured.p99Ms} ms) vs ${baseline.requestsPerSecond} req/s (p99 ${baseline.p99Ms} ms) → ratio ${result.ratio}; bare Express 5: ${expressOnly.requestsPerSecond} req/s (ratio ${result.bareExpress.ratio}); Agented / bare Express ${result.ratioToBareExpress}`,
      );
      return [result];
    } finally {
      await agented.stop();
      await bare.stop();
      await bareExpress.stop();
    }
  },
};
