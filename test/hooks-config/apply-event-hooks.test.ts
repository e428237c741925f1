import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from 'pending-hooks/emulator';
import { AppSettingsRequestError, applyEventHooks, createAppSettingsClient, diffEventHooks, type AppSettingsApi } from 'pending-hooks/hooks-config';

const app = { apiKey: 'hooks-key', secret: 'hooks-secret' };
const webhook = { enabled: true, hook_type: 'webhook', webhook_url: 'http://url1-webhook.com', event_types: ['channel.created'] };
const sqs = { enabled: true, hook_type: 'sqs', sqs_queue_url: 'http://url1-sqs.com', sqs_auth_type: 'keys', sqs_key: 'sqs-key', sqs_secret: 'sqs-secret', event_types: ['channel.created'] };
const sns = { enabled: true, hook_type: 'sns', sns_topic_arn: 'arn:aws:sns:us-east-1:123456789012:MyTopic2', sns_auth_type: 'role', sns_role_arn: 'arn:aws:iam::123456789012:role/SNSPublishRole', event_types: ['channel.created'] };
const pending = { enabled: true, hook_type: 'pending_message', webhook_url: 'http://test-url.com', timeout_ms: 500, callback: { mode: 'CALLBACK_MODE_REST' } };

describe('diff and apply against the emulated Stream API (real HTTP)', () => {
  let mock: MockStreamApi;
  let api: AppSettingsApi;

  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [app] });
    api = createAppSettingsClient({ ...app, baseUrl: mock.url });
  });
  afterEach(() => mock.reset());
  afterAll(async () => {
    await api.close();
    await mock.close();
  });

  /** Stream holds the four hooks of the seed's example; returns them with their ids. */
  async function seedHooks() {
    const result = await applyEventHooks(api, [webhook, sqs, sns, pending]);
    expect(result.status).toBe('applied');
    callsBefore = mock.calls.length;
    return mock.eventHooks();
  }

  /** Calls since `seedHooks` (all calls when it was not used). */
  let callsBefore = 0;
  afterEach(() => {
    callsBefore = 0;
  });
  const callsSinceSeed = () => mock.calls.slice(callsBefore);
  const patches = () => callsSinceSeed().filter((call) => call.action === 'patch_app');

  it('creates hooks, then finds nothing to do when the same file is applied again', async () => {
    const first = await applyEventHooks(api, [webhook, pending]);
    expect(first).toMatchObject({ status: 'applied', update: { event_hooks: [webhook, pending] } });
    if (first.status !== 'applied') return;
    expect(first.hooks.map((hook) => hook.hook_type)).toEqual(['webhook', 'pending_message']);
    for (const hook of first.hooks) expect(hook.id).toMatch(/^[0-9a-f-]{36}$/);
    const again = await applyEventHooks(api, [webhook, pending]);
    expect(again.status).toBe('unchanged');
    expect(patches()).toHaveLength(1);
  });

  it('diff lists what the seed update would add, change (with fields) and delete', async () => {
    const [w, q, n, p] = await seedHooks();
    const { plan } = await diffEventHooks(api, [{ ...webhook, id: w!.id, webhook_url: 'http://url1-new-webhook.com', event_types: ['channel.created', 'message.new'] }, { ...sqs, id: q!.id, enabled: false }, { ...webhook, webhook_url: 'http://another.com' }]);
    expect(plan?.added.map((a) => a.index)).toEqual([2]);
    expect(plan?.changed.map((c) => [c.id, c.fields.map((f) => f.field)])).toEqual([[w!.id, ['webhook_url', 'event_types']], [q!.id, ['enabled']]]);
    expect(plan?.deleted.map((d) => d.id)).toEqual([n!.id, p!.id]);
    expect(callsSinceSeed().map((call) => call.action)).toEqual(['get_app']);
  });

  it('refuses an accidental delete: nothing is written, Stream keeps every hook', async () => {
    const before = await seedHooks();
    const [w, q] = before;
    const result = await applyEventHooks(api, [{ ...w!, webhook_url: 'http://url1-new-webhook.com' }, q]);
    expect(result.status).toBe('refused');
    expect(result.status === 'refused' && result.plan.deleted.map((d) => d.hook.hook_type)).toEqual(['sns', 'pending_message']);
    expect(patches()).toEqual([]);
    expect(mock.eventHooks()).toEqual(before);
  });

  it('with allowDelete, deletes what the file leaves out (whole-list update)', async () => {
    const [w, q] = await seedHooks();
    const result = await applyEventHooks(api, [{ ...w!, webhook_url: 'http://url1-new-webhook.com' }, q], { allowDelete: true });
    expect(result.status).toBe('applied');
    expect(mock.eventHooks().map((hook) => [hook.id, hook.webhook_url ?? hook.hook_type])).toEqual([[w!.id, 'http://url1-new-webhook.com'], [q!.id, 'sqs']]);
    expect(mock.eventHooks()[0]!.created_at).toBe(w!.created_at);
  });

  it('explicit deletion sends only the changes, so a hook added meanwhile by someone else survives', async () => {
    const [w, q, n, p] = await seedHooks();
    const other = createAppSettingsClient({ ...app, baseUrl: mock.url });
    // Someone adds a hook between our read and our write.
    const racing = (explicitDeletion: boolean): AppSettingsApi => ({
      getEventHooks: (signal) => api.getEventHooks(signal),
      async updateAppSettings(body, signal) {
        await other.updateAppSettings({ explicit_event_hooks_deletion: true, event_hooks: [{ ...webhook, webhook_url: `http://theirs-${String(explicitDeletion)}.com` }] });
        await api.updateAppSettings(body, signal);
      },
      close: async () => {},
    });
    try {
      const desired = [w, { ...q!, enabled: false }, p];
      const explicit = await applyEventHooks(racing(true), desired, { allowDelete: true, explicitDeletion: true });
      expect(explicit).toMatchObject({ status: 'applied', update: { explicit_event_hooks_deletion: true, event_hooks: [{ id: q!.id, enabled: false }, { id: n!.id, delete: true }] } });
      expect(mock.eventHooks().map((hook) => hook.webhook_url ?? hook.hook_type)).toEqual([w!.webhook_url, 'sqs', p!.webhook_url, 'http://theirs-true.com']);

      // The whole-list form overwrites it: what explicit deletion is for.
      const theirs = mock.eventHooks()[3]!;
      const whole = await applyEventHooks(racing(false), [w, q, p, theirs], { allowDelete: true });
      expect(whole.status).toBe('applied');
      expect(mock.eventHooks().some((hook) => hook.webhook_url === 'http://theirs-false.com')).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('an invalid file reads and writes nothing', async () => {
    const result = await applyEventHooks(api, [{ ...sns, sns_arn_topic: sns.sns_topic_arn, sns_topic_arn: undefined }]);
    expect(result.status).toBe('invalid');
    expect(result.validation.problems.map((p) => p.code)).toEqual(['misspelled_field']);
    expect(mock.calls).toEqual([]);
  });

  it("the emulator's PATCH /app refuses what the validation refuses, every error in its message", async () => {
    await expect(api.updateAppSettings({ event_hooks: [{ ...sns, sns_topic_arn: undefined, sns_arn_topic: sns.sns_topic_arn }, { ...pending, timeout_ms: 0 }] })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/event_hooks\[0\]\.sns_arn_topic: is a misspelling of sns_topic_arn.*; event_hooks\[1\]\.timeout_ms: must be greater than 0/),
    });
    expect(mock.eventHooks()).toEqual([]);
  });

  it.each([
    ['a 500 on GET /app', { action: 'get_app' as const, status: 500, count: 1 }, 500],
    ['a 429 on PATCH /app', { action: 'patch_app' as const, status: 429, count: 1 }, 429],
    ['a dropped connection', { action: 'get_app' as const, networkError: true, count: 1 }, undefined],
  ])('%s is an AppSettingsRequestError with its status', async (_what, fault, status) => {
    mock.injectFaults(fault);
    const error = await applyEventHooks(api, [webhook]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppSettingsRequestError);
    expect((error as AppSettingsRequestError).status).toBe(status);
  });

  it('a wrong secret is refused by Stream (401)', async () => {
    const wrong = createAppSettingsClient({ apiKey: app.apiKey, secret: 'not-the-secret', baseUrl: mock.url });
    try {
      await expect(wrong.getEventHooks()).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/GET \/app: HTTP 401/) });
    } finally {
      await wrong.close();
    }
  });
});
