// @vitest-environment happy-dom
import { mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import LogView from '../../renderer/src/components/LogView.vue';
import { LogBuffer } from '../../renderer/src/lib/log-buffer.js';

/**
 * The view half of the stream view: LogView drawing a LogBuffer as lines
 * arrive (execution-stream.test.ts fills one from a real server). happy-dom
 * has no layout engine, so the viewport's height is given.
 */
const VIEWPORT = 400;
const ROW = 20;

// Layout that happy-dom does not compute: the log viewport is VIEWPORT px high.
beforeAll(() => {
  Object.defineProperty(window.HTMLElement.prototype, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return this.dataset.testid === 'log-viewport' ? VIEWPORT : 0;
    },
  });
});

const mounted: VueWrapper[] = [];
afterEach(() => {
  for (const wrapper of mounted.splice(0)) wrapper.unmount();
});

function mountView(buffer: LogBuffer, mode: 'raw' | 'events' = 'raw'): VueWrapper {
  const wrapper = mount(LogView, { props: { buffer, mode }, attachTo: document.body });
  mounted.push(wrapper);
  return wrapper;
}

/** Long enough for the view's next draw (it draws at most every 100 ms). */
async function frames(count = 3): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 110));
  for (let index = 0; index < count; index++) {
    await new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
    await nextTick();
  }
}

const viewport = (wrapper: VueWrapper) => wrapper.get('[data-testid="log-viewport"]').element as HTMLElement;
const renderedSeqs = (wrapper: VueWrapper) => wrapper.findAll('[data-testid="log-row"]').map((row) => Number(row.attributes('data-seq')));

describe('log view: order and window', () => {
  it('draws the lines in sequence order, only a window of them, at the end while following; the events view shows the normalized rows', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    for (let seq = 1; seq <= 3_000; seq++) {
      buffer.append({ seq, stream: 'stdout', text: JSON.stringify({ type: 'assistant' }), ts: '2026-01-01T00:00:00.000Z', events: [{ type: 'message', role: 'assistant', text: `line ${seq}\nsecond line` }] });
    }
    buffer.append({ seq: 3_001, stream: 'stderr', text: 'warning: something', ts: '2026-01-01T00:00:00.000Z', events: null });
    await frames();
    const rows = renderedSeqs(wrapper);
    expect(rows.length).toBeGreaterThan(VIEWPORT / ROW);
    expect(rows.length).toBeLessThan(60);
    expect(rows.at(-1)).toBe(3_001);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));

    await wrapper.setProps({ mode: 'events' });
    await frames();
    // Two rows per message (label on the first), then the stderr line.
    expect(buffer.rows).toHaveLength(6_001);
    expect(wrapper.findAll('.kind-assistant').length).toBeGreaterThan(0);
    expect(wrapper.text()).toContain('line 3000');
    expect(wrapper.findAll('.kind-stderr').at(-1)?.text()).toContain('warning: something');
  });
});

describe('log view: the auto-scroll rule', () => {
  function fill(buffer: LogBuffer, from: number, count: number): void {
    for (let seq = from; seq < from + count; seq++) buffer.append({ seq, stream: 'stdout', text: `\u001b[32mline\u001b[0m ${seq}`, ts: '2026-01-01T00:00:00.000Z', events: null });
  }
  const bottom = (buffer: LogBuffer) => buffer.lines.length * ROW - VIEWPORT;

  it('follows the end while at the bottom, stops when the reader scrolls up, and follows again back at the bottom', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    const element = viewport(wrapper);

    fill(buffer, 1, 500);
    await frames();
    expect(element.scrollTop).toBe(bottom(buffer));
    expect(renderedSeqs(wrapper).at(-1)).toBe(500);
    // ANSI colours are kept, as classes.
    expect(wrapper.find('.ansi-fg-2').text()).toBe('line');

    // The reader scrolls up with the wheel: following stops at once, new lines do not move the view.
    await wrapper.get('[data-testid="log-viewport"]').trigger('wheel', { deltaY: -120 });
    element.scrollTop = 2_000;
    await wrapper.get('[data-testid="log-viewport"]').trigger('scroll');
    fill(buffer, 501, 300);
    await frames();
    expect(element.scrollTop).toBe(2_000);
    expect(renderedSeqs(wrapper)).toContain(101);
    const jump = wrapper.get('[data-testid="jump-to-latest"]');
    expect(jump.text()).toContain('300 new');

    // Back at the bottom by scrolling: it follows again.
    element.scrollTop = bottom(buffer);
    await wrapper.get('[data-testid="log-viewport"]').trigger('scroll');
    fill(buffer, 801, 200);
    await frames();
    expect(element.scrollTop).toBe(bottom(buffer));
    expect(renderedSeqs(wrapper).at(-1)).toBe(1_000);
    expect(wrapper.find('[data-testid="jump-to-latest"]').exists()).toBe(false);
  });

  it('dragging the scrollbar up (a scroll with no wheel) also stops following; the button and End resume it', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    const element = viewport(wrapper);
    fill(buffer, 1, 300);
    await frames();
    expect(element.scrollTop).toBe(bottom(buffer));

    element.scrollTop = bottom(buffer) - 500;
    await wrapper.get('[data-testid="log-viewport"]').trigger('scroll');
    fill(buffer, 301, 50);
    await frames();
    expect(element.scrollTop).toBe(300 * ROW - VIEWPORT - 500);

    await wrapper.get('[data-testid="jump-to-latest"]').trigger('click');
    await frames();
    expect(element.scrollTop).toBe(bottom(buffer));

    await wrapper.get('[data-testid="log-viewport"]').trigger('keydown', { key: 'PageUp' });
    fill(buffer, 351, 10);
    await frames();
    expect(element.scrollTop).toBe(350 * ROW - VIEWPORT);
    await wrapper.get('[data-testid="log-viewport"]').trigger('keydown', { key: 'End' });
    await frames();
    expect(element.scrollTop).toBe(bottom(buffer));
  });

  it('100,000 lines stay a window of DOM rows, and new lines are drawn a few times a second however many arrive', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    const draws = vi.fn();
    const element = viewport(wrapper);
    const observer = new MutationObserver(draws);
    observer.observe(element, { childList: true, subtree: true });
    fill(buffer, 1, 100_000);
    await frames(2);
    observer.disconnect();
    expect(wrapper.findAll('[data-testid="log-row"]').length).toBeLessThan(60);
    expect(renderedSeqs(wrapper).at(-1)).toBe(100_000);
    expect(element.scrollTop).toBe(bottom(buffer));
    // 100,000 appends, a handful of DOM updates.
    expect(draws.mock.calls.length).toBeLessThan(10);
  });

  it('a steady flood is drawn about ten times a second, not once per line, and the view still ends at the last line', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    const element = viewport(wrapper);
    await frames();
    let draws = 0;
    const observer = new MutationObserver(() => draws++);
    observer.observe(element, { childList: true, subtree: true });
    const started = performance.now();
    for (let batch = 0; batch < 60; batch++) {
      fill(buffer, batch * 20 + 1, 20);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsed = performance.now() - started;
    await frames();
    observer.disconnect();
    // 60 batches of lines; a draw is one or two DOM mutation records (the rows, then the window's move).
    expect(draws).toBeGreaterThan(1);
    expect(draws).toBeLessThan(30);
    expect(draws).toBeLessThanOrEqual(2 * (Math.ceil(elapsed / 100) + 2));
    expect(renderedSeqs(wrapper).at(-1)).toBe(1_200);
    expect(element.scrollTop).toBe(bottom(buffer));
  });

  it('while following, a draw puts rows only at the end, reusing the same row elements (no rows drawn at the old place first)', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    const element = viewport(wrapper);
    fill(buffer, 1, 500);
    await frames();
    const rowElements = () => wrapper.findAll('[data-testid="log-row"]').map((row) => row.element);
    const before = rowElements();
    // Every set of rows the DOM shows between two frames is the end of the buffer as it was at that draw.
    const drawn: number[][] = [];
    const observer = new MutationObserver(() => drawn.push(renderedSeqs(wrapper)));
    observer.observe(element, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['data-seq'] });
    for (let batch = 0; batch < 5; batch++) {
      fill(buffer, 501 + batch * 400, 400);
      await frames(1);
    }
    observer.disconnect();
    expect(element.scrollTop).toBe(bottom(buffer));
    expect(renderedSeqs(wrapper).at(-1)).toBe(2_500);
    for (const seqs of drawn) {
      if (seqs.length > 0) expect([500, 900, 1_300, 1_700, 2_100, 2_500]).toContain(seqs.at(-1));
    }
    // The window moved 2,000 rows; its elements are the same ones, updated in place.
    const after = rowElements();
    expect(after.length).toBe(before.length);
    expect(after.every((row) => before.includes(row))).toBe(true);
  });
});

describe('log view: the keyboard', () => {
  it('ArrowDown on the focused log selects the first row in view, then moves; Enter and Space open the selection; Escape drops it and says so', async () => {
    const buffer = new LogBuffer();
    const wrapper = mountView(buffer);
    for (let seq = 1; seq <= 500; seq++) buffer.append({ seq, stream: 'stdout', text: `line ${seq}`, ts: '2026-01-01T00:00:00.000Z', events: null });
    await frames();
    const element = viewport(wrapper);
    element.focus();
    expect(document.activeElement).toBe(element);
    // At the end: rows 481 to 500 are in view (500 × 20 px − 400 px).
    expect(element.scrollTop).toBe(500 * ROW - VIEWPORT);
    const log = wrapper.get('[data-testid="log-viewport"]');
    const selectedSeqs = () => wrapper.findAll('[data-testid="log-row"].selected').map((row) => Number(row.attributes('data-seq')));

    await log.trigger('keydown', { key: 'ArrowDown' });
    expect(selectedSeqs()).toEqual([481]);
    expect(wrapper.emitted('select')).toEqual([[481, 0]]);
    await log.trigger('keydown', { key: 'ArrowDown' });
    expect(selectedSeqs()).toEqual([482]);

    await log.trigger('keydown', { key: 'Enter' });
    await log.trigger('keydown', { key: ' ' });
    expect(wrapper.emitted('select')).toEqual([[481, 0], [482, 0], [482, 0], [482, 0]]);

    await log.trigger('keydown', { key: 'Escape' });
    expect(selectedSeqs()).toEqual([]);
    expect(wrapper.emitted('clear')).toHaveLength(1);
    // Nothing selected: Enter opens nothing; ArrowUp selects the last row in view.
    await log.trigger('keydown', { key: 'Enter' });
    expect(wrapper.emitted('select')).toHaveLength(4);
    await log.trigger('keydown', { key: 'ArrowUp' });
    expect(selectedSeqs()).toEqual([500]);
  });
});
