/**
 * The body of the preparation thread (see delivery-preparer.ts): verifies,
 * parses and renders the deliveries the serving thread hands it, a batch at
 * a time, and answers each with its verdict. It holds no state between
 * batches: each batch carries the triggers its deliveries are for.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { prepareDelivery, type PreparationOptions, type PreparationTrigger, type PreparedDelivery } from './delivery-preparation.js';

export interface PreparationBatch {
  type: 'prepare';
  batch: number;
  triggers: PreparationTrigger[];
  /** `trigger` indexes `triggers`; `body` is the delivery's bytes (transferred). */
  items: { trigger: number; headers: IncomingHttpHeaders; body: Uint8Array }[];
}

export type PreparationResult = PreparedDelivery | { kind: 'failed'; message: string };

export type PreparationThreadMessage = { type: 'ready' } | { type: 'prepared'; batch: number; results: PreparationResult[] };

const options = workerData as PreparationOptions;
const port = parentPort!;

port.on('message', (message: PreparationBatch) => {
  void Promise.all(
    message.items.map((item) =>
      prepareDelivery(message.triggers[item.trigger]!, item.headers, Buffer.from(item.body.buffer, item.body.byteOffset, item.body.byteLength), options).catch(
        (error: unknown): PreparationResult => ({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
      ),
    ),
  ).then((results) => port.postMessage({ type: 'prepared', batch: message.batch, results } satisfies PreparationThreadMessage));
});
port.postMessage({ type: 'ready' } satisfies PreparationThreadMessage);
