/** The Web Worker that reads execution streams for the page (stream-worker.ts). */
import { serveExecutionStream, type MessageEndpoint } from './stream-worker.js';

serveExecutionStream(self as unknown as MessageEndpoint);
