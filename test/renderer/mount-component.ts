import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, expect } from 'vitest';
import type { Component } from 'vue';
import type { ApiClient } from '../../renderer/src/api/client.js';
import { ApiKey } from '../../renderer/src/api/inject.js';

/** Waits (up to 2 s) until `done()`, letting the component's requests be answered; fails with its HTML if it never is. */
export async function settle(wrapper: VueWrapper, done: () => boolean): Promise<void> {
  for (let index = 0; index < 80 && !done(); index++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    await flushPromises();
  }
  expect(done(), wrapper.html()).toBe(true);
}

/**
 * One component's mounts in a test file, against a real worker: the returned
 * function mounts `component` with `api` provided, attached to the page, and
 * waits until `loaded` (a selector; by default `loadedByDefault`) is rendered,
 * that is until what it shows has loaded. Each is unmounted after its test.
 */
export function loadedMounts(component: Component, loadedByDefault: string): (api: ApiClient, loaded?: string) => Promise<VueWrapper> {
  const mounted: VueWrapper[] = [];
  afterEach(() => {
    for (const wrapper of mounted.splice(0)) wrapper.unmount();
  });
  return async (api, loaded = loadedByDefault) => {
    const wrapper = mount(component, { global: { provide: { [ApiKey as symbol]: api } }, attachTo: document.body });
    mounted.push(wrapper);
    await settle(wrapper, () => wrapper.find(loaded).exists());
    return wrapper;
  };
}
