// @vitest-environment happy-dom
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { flushPromises, mount } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIPBOARD_TEXT_MAX_LENGTH } from '../../common/preload-api.js';
import CopyButton from '../../renderer/src/components/CopyButton.vue';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { desktopBridge, type DesktopBridge } from '../shell/electron-stand-in.js';

/*
 * CopyButton writes the clipboard through the preload in the desktop app (the
 * window refuses the permission navigator.clipboard needs) and through
 * navigator.clipboard in a browser. In the desktop case the click goes through
 * the real preload bundle and main's real IPC handler to electron's clipboard
 * (a stand-in: the binary cannot run here).
 */

const pageUrl = 'http://127.0.0.1:8787/triggers/abc';
const temp = makeTempDir('agented-copy-button-');
afterAll(() => temp.remove());

const label = (wrapper: ReturnType<typeof mount>) => wrapper.get('button').text();

describe('in the desktop app (window.agented present)', () => {
  let bridge: DesktopBridge;

  beforeAll(async () => {
    const preloadFile = path.join(temp.dir, 'index.cjs');
    await promisify(execFile)(process.execPath, [path.join(repoRoot, 'scripts', 'build-preload.mjs'), '--outfile', preloadFile]);
    bridge = await desktopBridge({ preloadFile, pageUrl, expose: (key, value) => Object.assign(window, { [key]: value }) });
    expect(window.agented?.clipboard).toBeDefined();
  });
  afterEach(() => {
    bridge.copied.length = 0;
  });
  afterAll(() => {
    delete (window as { agented?: unknown }).agented;
  });

  it('copies through the preload to the main process, and says so', async () => {
    const wrapper = mount(CopyButton, { props: { text: 'http://127.0.0.1:8787/hooks/abc', label: 'Copy URL' } });
    expect(label(wrapper)).toBe('Copy URL');
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(bridge.copied).toEqual(['http://127.0.0.1:8787/hooks/abc']);
    expect(label(wrapper)).toBe('Copied');
    wrapper.unmount();
  });

  it('says to copy by hand when main refuses the text (past the cap)', async () => {
    const wrapper = mount(CopyButton, { props: { text: 'x'.repeat(CLIPBOARD_TEXT_MAX_LENGTH + 1) } });
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(bridge.copied).toEqual([]);
    expect(label(wrapper)).toBe('Select and copy by hand');
    expect(bridge.log.lines.at(-1)).toMatch(/invalid arguments/);
    wrapper.unmount();
  });
});

describe('in a browser (no window.agented)', () => {
  it('copies with navigator.clipboard', async () => {
    expect(window.agented).toBeUndefined();
    const wrapper = mount(CopyButton, { props: { text: 'whsec_example' } });
    await wrapper.get('button').trigger('click');
    await flushPromises();
    expect(label(wrapper)).toBe('Copied');
    await expect(navigator.clipboard.readText()).resolves.toBe('whsec_example');
    wrapper.unmount();
  });
});
