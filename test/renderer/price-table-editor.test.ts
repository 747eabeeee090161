// @vitest-environment happy-dom
import type { VueWrapper } from '@vue/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../renderer/src/api/client.js';
import PriceTableEditor from '../../renderer/src/components/PriceTableEditor.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { loadedMounts, settle } from './mount-component.js';

/**
 * The Usage page's price table against the real worker: rows added, edited and
 * removed are what GET /api/settings then reports in use; the server's refusals
 * come back under the cell they concern, with nothing stored; AGENTED_PRICES
 * makes it read-only and says so.
 */
const mountLoaded = loadedMounts(PriceTableEditor, '[data-testid="price-save"]');

function pointAt(server: InProcessServer): ApiClient {
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(server.url);
  return new ApiClient({ headers: { Authorization: `Bearer ${server.key}` } });
}

const rowsOf = (wrapper: VueWrapper) => wrapper.findAll('[data-testid="price-row"]');

async function fillRow(wrapper: VueWrapper, index: number, key: string, input: string, output: string): Promise<void> {
  const row = rowsOf(wrapper)[index]!;
  await row.get('[data-testid="price-key"]').setValue(key);
  await row.get('[data-testid="price-input"]').setValue(input);
  await row.get('[data-testid="price-output"]').setValue(output);
}

describe('the price table editor', () => {
  let server: InProcessServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startInProcess();
    api = pointAt(server);
  });
  afterAll(() => server?.close());

  it('starts empty, adds rows, saves, and the worker reports the table in use at once', async () => {
    const wrapper = await mountLoaded(api);
    expect(wrapper.get('[data-testid="price-table-empty"]').text()).toContain('No prices are set');
    await wrapper.get('[data-testid="price-add"]').trigger('click');
    await wrapper.get('[data-testid="price-add"]').trigger('click');
    await fillRow(wrapper, 0, 'codex/gpt-4.1', '2', '8');
    await fillRow(wrapper, 1, 'codex', '1.25', '10');
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.text().includes('Saved'));

    const prices = (await api.settings()).settings.prices;
    expect(prices).toMatchObject({ source: 'stored', restartRequired: false, value: { codex: { inputPerMTok: 1.25, outputPerMTok: 10 }, 'codex/gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 } } });
    // Shown as stored, sorted by key.
    expect(rowsOf(wrapper).map((row) => (row.get('[data-testid="price-key"]').element as HTMLInputElement).value)).toEqual(['codex', 'codex/gpt-4.1']);
  });

  it('puts the server’s refusals under the cells they concern, and stores nothing', async () => {
    const before = (await api.settings()).settings.prices?.value;
    const wrapper = await mountLoaded(api);
    await wrapper.get('[data-testid="price-add"]').trigger('click');
    await fillRow(wrapper, 2, 'cursor', '1', '1');
    await rowsOf(wrapper)[1]!.get('[data-testid="price-output"]').setValue('20000');
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.find('[data-testid="price-save-error"]').exists());

    const [codex, model, cursor] = rowsOf(wrapper);
    expect(cursor!.get('[data-testid="price-key-error"]').text()).toMatch(/must be a backend \(claude, codex, gemini, opencode\)/);
    expect(cursor!.get('[data-testid="price-key"]').attributes('aria-invalid')).toBe('true');
    // The dot in gpt-4.1 does not confuse where the issue belongs.
    expect(model!.get('[data-testid="price-output-error"]').text()).toMatch(/at most 10000/);
    expect(model!.find('[data-testid="price-input-error"]').exists()).toBe(false);
    expect(codex!.find('.field-error').exists()).toBe(false);
    expect(wrapper.get('[data-testid="price-save-error"]').text()).toContain('nothing was stored');
    expect(document.activeElement).toBe(model!.get('[data-testid="price-output"]').element);
    expect((await api.settings()).settings.prices?.value).toEqual(before);
  });

  it('catches what JSON cannot carry before sending (a key twice, an empty price), then removes a row and saves', async () => {
    const before = (await api.settings()).settings.prices?.value;
    const wrapper = await mountLoaded(api);
    await wrapper.get('[data-testid="price-add"]').trigger('click');
    await fillRow(wrapper, 2, 'codex', '', '3');
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.find('[data-testid="price-save-error"]').exists());
    const third = rowsOf(wrapper)[2]!;
    expect(third.get('[data-testid="price-key-error"]').text()).toContain('listed twice');
    expect(third.get('[data-testid="price-input-error"]').text()).toContain('enter a price');
    expect((await api.settings()).settings.prices?.value).toEqual(before);

    await third.get('[data-testid="price-remove"]').trigger('click');
    await rowsOf(wrapper)[1]!.get('[data-testid="price-remove"]').trigger('click');
    expect(rowsOf(wrapper)).toHaveLength(1);
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.text().includes('Saved'));
    expect((await api.settings()).settings.prices?.value).toEqual({ codex: { inputPerMTok: 1.25, outputPerMTok: 10 } });
  });
});

describe('the price table set by AGENTED_PRICES', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ AGENTED_PRICES: JSON.stringify({ gemini: { inputPerMTok: 0.3, outputPerMTok: 2.5 } }) });
  });
  afterAll(() => server?.close());

  it('is read-only, names the variable, and shows the table in use', async () => {
    const wrapper = await mountLoaded(pointAt(server), '[data-testid="price-table-environment"]');
    expect(wrapper.get('[data-testid="price-table-environment"]').text()).toContain('AGENTED_PRICES');
    expect(wrapper.find('form').exists()).toBe(false);
    expect(wrapper.find('input').exists()).toBe(false);
    expect(wrapper.get('tbody').text()).toMatch(/gemini\s*0\.3\s*2\.5/);
  });
});
