import { describe, expect, it } from 'vitest';
import { webhookContext } from '../../../functions/webhook/context';
import { createMemo } from '../../../functions/webhook/memo';
import { permissionOf } from '../../../functions/webhook/permissions';
import { MutableClock, makeWebhookContext } from './helpers';

describe('permissionOf', () => {
  it('asks GitHub once and keeps the answer in the table for permissionCacheSeconds', async () => {
    const { ctx, github, store, clock } = makeWebhookContext({ permissionCacheSeconds: 120 });
    expect(await permissionOf(ctx, 'acme/widgets', 'bob')).toBe('write');
    expect(github.permissionCalls).toEqual(['acme/widgets:bob']);
    expect(store.cache.get('perm:acme/widgets:bob')).toEqual({
      value: 'write',
      expiresAt: Math.floor(clock.now() / 1000) + 120,
    });
  });

  it('for a minute the memo answers, whatever the case of repo and login, with no I/O', async () => {
    const { ctx, github, store, clock } = makeWebhookContext();
    await permissionOf(ctx, 'acme/widgets', 'alice');
    const calls = store.calls.length;
    clock.advance(59_999);
    expect(await permissionOf(ctx, 'ACME/Widgets', 'Alice')).toBe('admin');
    expect(store.calls.length).toBe(calls);
    expect(github.permissionCalls).toHaveLength(1);
  });

  it('after the memo, the table cache answers; after its TTL, GitHub is asked again', async () => {
    const { ctx, github, store, clock } = makeWebhookContext();
    await permissionOf(ctx, 'acme/widgets', 'mallory');
    clock.advance(60_000);
    github.permissions.set('mallory', 'write'); // promoted meanwhile: the cache does not know yet
    expect(await permissionOf(ctx, 'acme/widgets', 'mallory')).toBe('read');
    expect(store.calls.at(-1)).toBe('cacheGet');
    expect(github.permissionCalls).toHaveLength(1);
    clock.advance(300_000);
    expect(await permissionOf(ctx, 'acme/widgets', 'mallory')).toBe('write');
    expect(github.permissionCalls).toHaveLength(2);
  });

  it('a new container (a new memo) reads the table cache, not GitHub', async () => {
    const { ctx, ports, github } = makeWebhookContext();
    await permissionOf(ctx, 'acme/widgets', 'bob');
    const cold = webhookContext(ports);
    expect(await permissionOf(cold, 'acme/widgets', 'bob')).toBe('write');
    expect(github.permissionCalls).toHaveLength(1);
  });
});

describe('createMemo', () => {
  it('loads a key once a minute', async () => {
    const clock = new MutableClock();
    const memo = createMemo(clock);
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(await memo('k', load)).toBe('v1');
    clock.advance(59_999);
    expect(await memo('k', load)).toBe('v1');
    clock.advance(1);
    expect(await memo('k', load)).toBe('v2');
  });

  it('does not remember a failed load', async () => {
    const memo = createMemo(new MutableClock());
    await expect(memo('k', () => Promise.reject(new Error('throttled')))).rejects.toThrow('throttled');
    expect(await memo('k', async () => 'loaded')).toBe('loaded');
  });

  it('forgets everything rather than grow past 10 000 entries', async () => {
    const memo = createMemo(new MutableClock());
    const loaded: string[] = [];
    const load = (key: string) => async () => {
      loaded.push(key);
      return key;
    };
    for (let i = 0; i <= 10_000; i++) await memo(`k${i}`, load(`k${i}`));
    await memo('k0', load('k0'));
    expect(loaded).toHaveLength(10_001); // k0 still remembered
    await memo('one-too-many', load('one-too-many'));
    await memo('k0', load('k0'));
    expect(loaded.at(-1)).toBe('k0'); // loaded again: the memo was cleared
    expect(loaded).toHaveLength(10_003);
  });
});
