import type { RelayedFailure } from '../../common/tunnel.js';
import type { Disposable } from '../lifecycle/disposables.js';

/** Where a running tunnel can be reached from outside. */
export interface TunnelAddress {
  publicUrl: string;
  /** See TunnelView.webhookUrlTemplate. */
  webhookUrlTemplate: string;
}

/** What a provider reports after it started: its connection coming and going, and deliveries that went wrong. */
export interface TunnelEvents {
  /** The connection is back (`up`), or lost while the library reconnects by itself (`error`). */
  connection(state: 'up' | 'error', detail?: string): void;
  /** The connection ended for good; the manager starts the provider again after a pause. */
  closed(reason: string): void;
  relayedFailure(failure: Omit<RelayedFailure, 'at'>): void;
}

/** One way of reaching this machine. Disposing it closes everything it opened. */
export interface Tunnel extends Disposable {
  /** Connects; resolves once the public address works, rejects with the reason it does not. */
  start(): Promise<TunnelAddress>;
}

/** A setting is missing or wrong: trying again will not help until the user changes it. */
export class TunnelConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TunnelConfigurationError';
  }
}

/** Base URL and path joined with exactly one slash between them. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
