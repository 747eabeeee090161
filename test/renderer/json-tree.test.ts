// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import JsonTree from '../../renderer/src/components/JsonTree.vue';
import { isAddressable, placeholderFor } from '../../renderer/src/lib/json-path.js';
import { githubExample } from '../helpers/github-deliveries.js';

/** A real GitHub delivery body (from @octokit/webhooks-examples), as the inspector shows it. */
const payload = githubExample('pull_request', 'opened');

const openNode = (wrapper: ReturnType<typeof mount>, path: string) => wrapper.get(`button[aria-label="Open ${path}"]`).trigger('click');

describe('JSON tree', () => {
  it('shows the top level open and everything below closed, as a tree for assistive technology', () => {
    const wrapper = mount(JsonTree, { props: { value: payload } });
    expect(wrapper.find('[role="tree"]').exists()).toBe(true);
    for (const key of Object.keys(payload)) expect(wrapper.find(`[data-testid="json-key-${key}"]`).exists()).toBe(true);
    expect(wrapper.find('[data-testid="json-key-pull_request.title"]').exists()).toBe(false);
    expect(wrapper.get('[data-path="pull_request"]').attributes('aria-expanded')).toBe('false');
    expect(wrapper.text()).toMatch(/\{ \d+ keys \}/);
  });

  it('opens and closes a branch with its toggle, a real button (so Enter and Space work)', async () => {
    const wrapper = mount(JsonTree, { props: { value: payload } });
    await openNode(wrapper, 'pull_request');
    expect(wrapper.get('[data-path="pull_request"]').attributes('aria-expanded')).toBe('true');
    expect(wrapper.get('[data-testid="json-key-pull_request.title"]').element.tagName).toBe('BUTTON');
    expect(wrapper.get('[data-path="pull_request.title"]').text()).toContain(JSON.stringify(payload.pull_request.title));
    await wrapper.get('button[aria-label="Close pull_request"]').trigger('click');
    expect(wrapper.find('[data-testid="json-key-pull_request.title"]').exists()).toBe(false);
  });

  it('choosing a field emits its path, array elements by index, ready for textFieldPath or {{payload.…}}', async () => {
    const labelled = { ...payload, pull_request: { ...payload.pull_request, labels: [{ name: 'bug' }] } };
    const wrapper = mount(JsonTree, { props: { value: labelled } });
    await openNode(wrapper, 'pull_request');
    await wrapper.get('[data-testid="json-key-pull_request.title"]').trigger('click');
    await openNode(wrapper, 'pull_request.labels');
    await wrapper.get('[data-testid="json-key-pull_request.labels.0"]').trigger('click');
    await wrapper.get('[data-testid="json-key-action"]').trigger('click');
    const picks = wrapper.emitted('pick') as [(string | number)[]][];
    expect(picks.map(([segments]) => segments)).toEqual([['pull_request', 'title'], ['pull_request', 'labels', 0], ['action']]);
    expect(placeholderFor(['pull_request', 'title'])).toBe('{{payload.pull_request.title}}');
    expect(placeholderFor(['pull_request', 'labels', 0, 'name'])).toBe('{{payload.pull_request.labels.0.name}}');
  });

  it('a key a template path cannot name is shown but not offered', async () => {
    const wrapper = mount(JsonTree, { props: { value: { 'user name': 'x', 'a.b': 1, ok_key: { 'x-y': true } } } });
    expect(wrapper.find('[data-testid="json-key-user name"]').exists()).toBe(false);
    expect(wrapper.get('[data-path="user name"] .unaddressable').text()).toBe('"user name"');
    expect(wrapper.find('[data-testid="json-key-a.b"]').exists()).toBe(false);
    await openNode(wrapper, 'ok_key');
    expect(wrapper.find('[data-testid="json-key-ok_key.x-y"]').exists()).toBe(true);
    expect(isAddressable(['0'])).toBe(false);
    expect(isAddressable(['items', 0, 'id'])).toBe(true);
  });

  it('a long array is shown 200 at a time, so a large body stays quick to open', async () => {
    const wrapper = mount(JsonTree, { props: { value: { items: Array.from({ length: 450 }, (_value, index) => ({ index })) } } });
    await openNode(wrapper, 'items');
    expect(wrapper.findAll('[data-path^="items."][role="treeitem"][aria-level="3"]')).toHaveLength(200);
    await wrapper.get('.json-more').trigger('click');
    expect(wrapper.findAll('[data-path^="items."][role="treeitem"][aria-level="3"]')).toHaveLength(400);
    expect(wrapper.get('.json-more').text()).toContain('50');
  });

  it('scalars keep their JSON types: strings quoted, numbers, booleans and null as they are', () => {
    const wrapper = mount(JsonTree, { props: { value: { s: 'text', n: 42, b: false, z: null } } });
    expect(wrapper.get('[data-path="s"] .json-string').text()).toBe('"text"');
    expect(wrapper.get('[data-path="n"] .json-number').text()).toBe('42');
    expect(wrapper.get('[data-path="b"] .json-boolean').text()).toBe('false');
    expect(wrapper.get('[data-path="z"] .json-null').text()).toBe('null');
  });
});
