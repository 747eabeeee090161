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
  /**
   * JSON of `{ triggers, items }`: `triggers` the PreparationTriggers of the
   * batch, `items` one `[trigger index, body length, headers]` per delivery.
   * One string is copied as it is, where a tree of objects would be
   * serialised field by field on the way.
   */
  meta: string;
  /** The deliveries' bodies, one after the other (one buffer, transferred). */
  bodies: Uint8Array;
}

export interface PreparationBatchMeta {
  triggers: PreparationTrigger[];
  items: [trigger: number, bodyLength: number, headers: IncomingHttpHeaders][];
}

export type PreparationResult = PreparedDelivery | { kind: 'failed'; message: string };

export type PreparationThreadMessage = { type: 'ready' } | { type: 'prepared'; batch: number; results: PreparationResult[] };

const options = workerData as PreparationOptions;
const port = parentPort!;

port.on('message', (message: PreparationBatch) => {
  const { triggers, items } = JSON.parse(message.meta) as PreparationBatchMeta;
  const { bodies } = message;
  let offset = bodies.byteOffset;
  void Promise.all(
    items.map(([trigger, length, headers]) => {
      const body = Buffer.from(bodies.buffer, offset, length);
      offset += length;
      return prepareDelivery(triggers[trigger]!, headers, body, options).catch(
        (error: unknown): PreparationResult => ({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
      );
    }),
  ).then((results) => port.postMessage({ type: 'prepared', batch: message.batch, results } satisfies PreparationThreadMessage));
});
port.postMessage({ type: 'ready' } satisfies PreparationThreadMessage);
