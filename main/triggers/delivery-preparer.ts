import type { IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Disposable } from '../lifecycle/disposables.js';
import { preparationHeaders, prepareDelivery, type PreparationOptions, type PreparationTrigger, type PreparedDelivery } from './delivery-preparation.js';
import type { PreparationBatch, PreparationBatchMeta, PreparationResult, PreparationThreadMessage } from './preparation-thread.js';

/** Turns a delivery's bytes into its verdict (see delivery-preparation.ts). */
export interface DeliveryPreparer extends Disposable {
  prepare(trigger: PreparationTrigger, headers: IncomingHttpHeaders, body: Buffer): Promise<PreparedDelivery>;
}

/** Prepares on the calling thread. */
export function inlinePreparer(options: PreparationOptions): DeliveryPreparer {
  return { prepare: (trigger, headers, body) => prepareDelivery(trigger, headers, body, options), dispose: () => undefined };
}

export interface PreparationThreadOptions extends PreparationOptions {
  /** The compiled thread body (tests running the TypeScript sources point at the build). */
  threadScript?: URL;
  /** The thread could not start, or ended: what is left runs inline. */
  onError?: (message: string) => void;
  /** Bytes of bodies sent in one message at most (a larger body goes alone); 16 MiB by default. */
  maxBatchBytes?: number;
}

interface Pending {
  trigger: PreparationTrigger;
  headers: IncomingHttpHeaders;
  body: Buffer;
  resolve: (prepared: PreparedDelivery) => void;
  reject: (error: Error) => void;
}

/** Times the thread is started again after it ended unexpectedly, before deliveries are prepared inline for good. */
const MAX_RESTARTS = 3;

const DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Prepares deliveries on a thread of their own. Verifying a signature,
 * parsing a payload (GitHub sends up to 25 MB) and rendering a prompt are
 * the CPU-heavy part of a delivery and need nothing but its bytes and its
 * trigger: done here, the serving thread's event loop stays free for other
 * requests and live streams, and under a burst the work runs on the second
 * core beside the serving thread's reading, storing and answering.
 *
 * The deliveries of one event-loop turn go over as one message (their bodies
 * copied into one transferred buffer, up to 16 MiB a message), and come back
 * as one. Should the thread
 * end, what it was preparing is prepared inline, and so is everything when
 * it cannot be started (a missing build, or too many restarts).
 */
export class PreparationThread implements DeliveryPreparer {
  private worker: Worker | undefined;
  /** Whether the current thread got as far as running (one that never did cannot start, and is not started again). */
  private started = false;
  private restarts = 0;
  private disposed = false;
  private queued: Pending[] = [];
  private scheduled = false;
  private nextBatch = 1;
  private readonly inFlight = new Map<number, Pending[]>();
  private readonly inline: DeliveryPreparer;
  /** Each trigger's JSON, made once per cached trigger (a changed trigger is a new object). */
  private readonly triggerJsons = new WeakMap<PreparationTrigger, string>();

  constructor(private readonly options: PreparationThreadOptions) {
    const { threadScript: _script, onError: _onError, ...preparation } = options;
    this.inline = inlinePreparer(preparation);
    this.worker = this.start();
  }

  /** Whether deliveries are prepared on the thread (false once it could not be started, or after the last allowed restart). */
  get threaded(): boolean {
    return this.worker !== undefined;
  }

  prepare(trigger: PreparationTrigger, headers: IncomingHttpHeaders, body: Buffer): Promise<PreparedDelivery> {
    if (this.worker === undefined) return this.inline.prepare(trigger, headers, body);
    return new Promise((resolve, reject) => {
      this.queued.push({ trigger, headers, body, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.send());
      }
    });
  }

  dispose(): void {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    // Anything still under way is finished here rather than lost.
    this.takeBack();
    void worker?.terminate();
  }

  private start(): Worker | undefined {
    const { threadScript, onError: _onError, ...preparation } = this.options;
    let worker: Worker;
    try {
      worker = new Worker(threadScript ?? defaultThreadScript(), { workerData: preparation satisfies PreparationOptions });
    } catch (error) {
      this.options.onError?.(`the delivery preparation thread could not start (deliveries are prepared inline): ${(error as Error).message}`);
      return undefined;
    }
    // The thread never keeps the process alive on its own.
    worker.unref();
    this.started = false;
    worker.on('message', (message: PreparationThreadMessage) => {
      if (message.type === 'ready') this.started = true;
      else this.settle(message);
    });
    worker.on('error', (error) => this.options.onError?.(`the delivery preparation thread failed: ${error.message}`));
    worker.once('exit', () => this.exited(worker));
    return worker;
  }

  /** Sends what the turn queued, in messages of at most maxBatchBytes of bodies: a turn that read many large payloads is not copied into one huge buffer. */
  private send(): void {
    this.scheduled = false;
    const pending = this.queued;
    this.queued = [];
    const cap = this.options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    let start = 0;
    let size = 0;
    for (let index = 0; index < pending.length; index += 1) {
      const length = pending[index]!.body.length;
      if (index > start && size + length > cap) {
        this.post(pending.slice(start, index), size);
        start = index;
        size = 0;
      }
      size += length;
    }
    if (start < pending.length) this.post(start === 0 ? pending : pending.slice(start), size);
  }

  private post(pending: Pending[], size: number): void {
    const worker = this.worker;
    if (worker === undefined) {
      this.prepareInline(pending);
      return;
    }
    const triggers: string[] = [];
    const indexOf = new Map<PreparationTrigger, number>();
    // A body is usually a view into a larger read buffer, which a clone would copy whole: the bodies are copied into one buffer, which is transferred.
    const bodies = new Uint8Array(size);
    let offset = 0;
    const items: PreparationBatchMeta['items'] = pending.map(({ trigger, headers, body }) => {
      let index = indexOf.get(trigger);
      if (index === undefined) {
        index = triggers.push(this.triggerJson(trigger)) - 1;
        indexOf.set(trigger, index);
      }
      bodies.set(body, offset);
      offset += body.length;
      return [index, body.length, preparationHeaders(trigger.definition, headers)];
    });
    const meta = `{"triggers":[${triggers.join(',')}],"items":${JSON.stringify(items)}}`;
    const batch = this.nextBatch++;
    this.inFlight.set(batch, pending);
    worker.postMessage({ type: 'prepare', batch, meta, bodies } satisfies PreparationBatch, [bodies.buffer]);
  }

  private triggerJson(trigger: PreparationTrigger): string {
    let json = this.triggerJsons.get(trigger);
    if (json === undefined) {
      json = JSON.stringify(trigger);
      this.triggerJsons.set(trigger, json);
    }
    return json;
  }

  private settle(message: Extract<PreparationThreadMessage, { type: 'prepared' }>): void {
    const pending = this.inFlight.get(message.batch);
    if (!pending) return;
    this.inFlight.delete(message.batch);
    message.results.forEach((result: PreparationResult, index) => {
      const item = pending[index]!;
      if (result.kind === 'failed') item.reject(new Error(result.message));
      else item.resolve(result);
    });
  }

  private exited(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (this.disposed) return;
    if (!this.started) {
      this.options.onError?.('the delivery preparation thread could not start; deliveries are prepared inline');
    } else if (this.restarts < MAX_RESTARTS) {
      this.restarts += 1;
      this.worker = this.start();
    } else {
      this.options.onError?.(`the delivery preparation thread ended ${MAX_RESTARTS + 1} times; deliveries are prepared inline from now on`);
    }
    this.takeBack();
  }

  /** Prepares inline what was sent to a thread that is gone, and what waited for it. */
  private takeBack(): void {
    const pending = [...this.inFlight.values()].flat();
    this.inFlight.clear();
    if (this.worker === undefined) {
      pending.push(...this.queued);
      this.queued = [];
    }
    this.prepareInline(pending);
  }

  private prepareInline(pending: Pending[]): void {
    for (const item of pending) this.inline.prepare(item.trigger, item.headers, item.body).then(item.resolve, item.reject);
  }
}

/** The compiled thread body beside this module. */
function defaultThreadScript(): string {
  return fileURLToPath(new URL('./preparation-thread.js', import.meta.url));
}
