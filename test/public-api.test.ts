import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { createPendingHooks, decide, defineHandlers, type PendingMessageEvent } from '../src/index.js';

describe('public API', () => {
  it('exports the documented names', () => {
    for (const name of ['createPendingHooks', 'createServer', 'pendingHooksPlugin', 'createNodeListener', 'decide', 'compose', 'composeParallel', 'sign', 'verify', 'defineHandlers', 'createStreamApiClient', 'fromStreamChat', 'createMemoryDedupeStore', 'createRedisDedupeStore', 'DeadlineExceededError', 'RequestAbortedError', 'ShutdownError', 'createEventWebhooks', 'EventHandlerError']) {
      expect(api, name).toHaveProperty(name);
    }
  });

  it('types handlers and decisions (checked by tsc in CI)', () => {
    const hooks = createPendingHooks({ apiKey: 'k', apiSecret: 's', logger: { level: 'silent' } });
    hooks.on('PassOnPendingMessage', (event: PendingMessageEvent) => {
      const text: string | null | undefined = event.message.text;
      const custom: unknown = event.message.any_custom_field;
      void custom;
      return text ? decide.commit() : decide.delete('empty');
    });
    hooks.on('DeletedPendingMessage', () => {});
    // @ts-expect-error a PassOn handler must return a decision
    hooks.on('PassOnPendingMessage', () => 'commit');
    // @ts-expect-error only Stream's two callbacks exist
    expect(() => hooks.on('SomethingElse', () => decide.commit())).toThrow(/unknown callback/);
    // @ts-expect-error fallback is a decision action
    expect(() => createPendingHooks({ apiKey: 'k', apiSecret: 's', fallback: 'approve', logger: { level: 'silent' } })).toThrow(/fallback/);
    defineHandlers({ PassOnPendingMessage: () => decide.keepPending('review') });
    // @ts-expect-error a handlers module needs PassOnPendingMessage
    defineHandlers({ DeletedPendingMessage: () => {} });
  });

  it('refuses a configuration that would accept unsigned traffic by accident', () => {
    expect(() => createPendingHooks({ logger: { level: 'silent' } })).toThrow(/verifySignatures: false/);
    expect(() => createPendingHooks({ apiKey: 'k', apiSecret: 's', timeoutMs: 0, logger: { level: 'silent' } })).toThrow(/timeoutMs/);
    expect(() => createPendingHooks({ apiKey: 'k', apiSecret: 's', rest: { mount: 'x' }, logger: { level: 'silent' } })).toThrow(/start with/);
    expect(() => createPendingHooks({ apiKey: 'k', apiSecret: 's', rest: { mount: '/t' }, twirp: { prefix: '/t' }, logger: { level: 'silent' } })).not.toThrow();
  });
});
