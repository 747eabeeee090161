// A lean EventSource for the benchmarks: one socket per stream, the WHATWG
// server-sent events fields it needs (id, event, data), and the reconnect an
// EventSource does when the server ends a stream early (Agented closes a
// client that falls too far behind; it comes back with Last-Event-ID). Each
// event is handed on with the time its chunk arrived, nothing is kept.
import http from 'node:http';

const MAX_RECONNECTS = 100;

export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Follows GET /api/executions/:id/stream until its `status` event.
 * `onEvent(event, id, data, receivedAtMs)` is called for every event.
 * Resolves with { status: {state, reason}, reconnects }.
 */
export function followExecution(baseUrl, key, executionId, onEvent) {
  const url = new URL(`/api/executions/${executionId}/stream`, baseUrl);
  let lastId;
  let reconnects = 0;
  let status;
  let request;
  let closed = false;
  const done = new Promise((resolve, reject) => {
    const connect = () => {
      const headers = { accept: 'text/event-stream', authorization: `Bearer ${key}`, ...(lastId === undefined ? {} : { 'last-event-id': lastId }) };
      let ended = false;
      const ends = (error) => {
        if (ended) return;
        ended = true;
        if (status || closed) resolve({ status, reconnects });
        else if (reconnects >= MAX_RECONNECTS) reject(new Error(`stream of ${executionId} ended ${reconnects} times without a status${error ? `: ${error.message}` : ''}`));
        else {
          reconnects += 1;
          connect();
        }
      };
      request = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          ended = true;
          reject(new Error(`stream of ${executionId} answered ${response.statusCode}`));
          return;
        }
        response.setEncoding('utf8');
        let buffer = '';
        response.on('data', (chunk) => {
          const receivedAt = nowMs();
          buffer += chunk;
          let start = 0;
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n', start)) {
            let id;
            let event = 'message';
            let data;
            for (const line of buffer.slice(start, end).split('\n')) {
              if (line.startsWith('data: ')) data = data === undefined ? line.slice(6) : `${data}\n${line.slice(6)}`;
              else if (line.startsWith('id: ')) id = line.slice(4);
              else if (line.startsWith('event: ')) event = line.slice(7);
            }
            start = end + 2;
            if (data === undefined) continue;
            if (id !== undefined) lastId = id;
            if (event === 'status') status = JSON.parse(data);
            onEvent(event, id, data, receivedAt);
          }
          buffer = buffer.slice(start);
        });
        response.once('end', () => ends());
        response.once('close', () => ends());
      });
      request.once('error', (error) => ends(error));
    };
    connect();
  });
  return {
    done,
    close: () => {
      closed = true;
      request?.destroy();
    },
  };
}
