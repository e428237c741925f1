import { describe, expect, it } from 'vitest';
import { eventHooksUpdateFor, hooksAfterUpdate, planEventHooks, planHasChanges, type StoredEventHook } from 'pending-hooks/hooks-config';

const stored = (id: string, fields: Record<string, unknown>): StoredEventHook => ({ id, created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-02T00:00:00Z', ...fields });
const webhook = { enabled: true, hook_type: 'webhook', webhook_url: 'http://url1-webhook.com', event_types: ['channel.created'] };
const sqs = { enabled: true, hook_type: 'sqs', sqs_queue_url: 'http://url1-sqs.com', sqs_auth_type: 'keys', sqs_key: 'sqs-key', sqs_secret: 'sqs-secret', event_types: ['channel.created'] };
const sns = { enabled: true, hook_type: 'sns', sns_topic_arn: 'arn:aws:sns:us-east-1:123456789012:MyTopic2', sns_auth_type: 'role', sns_role_arn: 'arn:aws:iam::123456789012:role/SNSPublishRole', event_types: ['channel.created', 'channel.updated'] };
const pending = { enabled: true, hook_type: 'pending_message', webhook_url: 'http://test-url.com', timeout_ms: 500, callback: { mode: 'CALLBACK_MODE_REST' } };
const current = [stored('w', webhook), stored('q', sqs), stored('n', sns), stored('p', pending)];

/** `+index`, `~id:field,field`, `-id`, `=id` — the plan in one line. */
function shape(desired: StoredEventHook[]): string[] {
  const plan = planEventHooks(current, desired);
  return [
    ...plan.added.map(({ index }) => `+${index}`),
    ...plan.changed.map(({ id, fields }) => `~${id}:${fields.map((f) => f.field).join(',')}`),
    ...plan.deleted.map(({ id }) => `-${id}`),
    ...plan.unchanged.map(({ id, matchedBy }) => `=${id}${matchedBy === 'content' ? '(content)' : ''}`),
  ];
}

describe('planEventHooks', () => {
  it.each<[string, StoredEventHook[], string[]]>([
    ['the same hooks as GET /app returned them', current, ['=w', '=q', '=n', '=p']],
    ['the same hooks without timestamps, other key order', [{ ...webhook, id: 'w' }, { id: 'q', ...sqs }, { ...sns, id: 'n' }, { ...Object.fromEntries(Object.entries(pending).reverse()), id: 'p' }], ['=w', '=q', '=n', '=p']],
    ["the seed's update: webhook URL and event types changed, sqs disabled, sns and pending left out", [{ ...webhook, id: 'w', webhook_url: 'http://url1-new-webhook.com', event_types: ['channel.created', 'message.new'] }, { ...sqs, id: 'q', enabled: false }], ['~w:webhook_url,event_types', '~q:enabled', '-n', '-p']],
    ['a hook without id and settings of its own: added', [...current, { ...webhook, webhook_url: 'http://other.com' }], ['+4', '=w', '=q', '=n', '=p']],
    ['a hook without id with the settings of an existing one: matched, not added twice', [stored('w', webhook), stored('q', sqs), stored('n', sns), pending], ['=w', '=q', '=n', '=p(content)']],
    ['an id Stream does not know: added with that id', [...current, { ...webhook, id: 'new-id' }], ['+4', '=w', '=q', '=n', '=p']],
    ['event_types in another order, or repeated: the same set', [{ ...stored('w', webhook), event_types: ['channel.created', 'channel.created'] }, stored('q', sqs), { ...stored('n', sns), event_types: ['channel.updated', 'channel.created'] }, stored('p', pending)], ['=w', '=q', '=n', '=p']],
    ['event_types emptied (every event): a change', [{ ...stored('w', webhook), event_types: [] }, ...current.slice(1)], ['~w:event_types', '=q', '=n', '=p']],
    ['a field removed', [stored('w', webhook), stored('q', sqs), stored('n', sns), { ...stored('p', pending), callback: { mode: 'CALLBACK_MODE_NONE' }, webhook_url: undefined }], ['~p:webhook_url,callback', '=w', '=q', '=n']],
    ['an empty list deletes everything', [], ['-w', '-q', '-n', '-p']],
  ])('%s', (_what, desired, expected) => {
    expect(shape(desired)).toEqual(expected);
  });

  it('absent and empty event_types compare equal', () => {
    const all = stored('a', { ...webhook, event_types: [] });
    expect(planHasChanges(planEventHooks([all], [{ ...all, event_types: undefined }]))).toBe(false);
    expect(planHasChanges(planEventHooks([all], [{ ...all, event_types: null }]))).toBe(false);
    expect(planHasChanges(planEventHooks([all], [{ ...all, event_types: ['message.new'] }]))).toBe(true);
  });

  it('marks credentials as secret so reports never print them', () => {
    const plan = planEventHooks(current, [stored('w', webhook), { ...stored('q', sqs), sqs_secret: 'rotated' }, stored('n', sns), stored('p', pending)]);
    expect(plan.changed).toEqual([expect.objectContaining({ id: 'q', fields: [{ field: 'sqs_secret', before: 'sqs-secret', after: 'rotated', secret: true }] })]);
  });

  it('the replace-all body is the desired list with matched ids and no timestamps; Stream would store exactly it', () => {
    const desired = [{ ...webhook, id: 'w', webhook_url: 'http://new.com' }, stored('q', sqs), stored('n', sns), pending];
    const plan = planEventHooks(current, desired);
    const update = eventHooksUpdateFor(plan);
    expect(update.explicit_event_hooks_deletion).toBeUndefined();
    expect(update.event_hooks).toEqual([{ ...webhook, id: 'w', webhook_url: 'http://new.com' }, { ...sqs, id: 'q' }, { ...sns, id: 'n' }, { ...pending, id: 'p' }]);
    const after = hooksAfterUpdate(current, update);
    expect(after.ok && planHasChanges(planEventHooks(after.hooks, desired))).toBe(false);
  });

  it('the explicit-deletion body carries only changes, additions and delete: true markers', () => {
    const desired = [{ ...webhook, id: 'w', enabled: false }, stored('q', sqs), { ...webhook, webhook_url: 'http://added.com' }];
    const update = eventHooksUpdateFor(planEventHooks(current, desired), { explicitDeletion: true });
    expect(update).toEqual({
      explicit_event_hooks_deletion: true,
      event_hooks: [
        { ...webhook, id: 'w', enabled: false },
        { ...webhook, webhook_url: 'http://added.com' },
        { ...sns, id: 'n', delete: true },
        { ...pending, id: 'p', delete: true },
      ],
    });
    const after = hooksAfterUpdate(current, update);
    expect(after.ok && after.hooks.map((hook) => hook.id ?? '(new)')).toEqual(['w', 'q', '(new)']);
  });
});

describe("hooksAfterUpdate (Stream's PATCH /app semantics)", () => {
  it('replace-all: a hook left out is deleted', () => {
    const result = hooksAfterUpdate(current, { event_hooks: [current[0]] });
    expect(result).toMatchObject({ ok: true, hooks: [current[0]] });
  });

  it('explicit deletion: marked ids removed, others upserted, unmentioned kept', () => {
    const result = hooksAfterUpdate(current, { explicit_event_hooks_deletion: true, event_hooks: [{ id: 'n', delete: true }, { ...sqs, id: 'q', enabled: false }] });
    expect(result.ok && result.hooks.map((hook) => [hook.id, hook.enabled])).toEqual([['w', true], ['q', false], ['p', true]]);
  });

  it.each<[string, Parameters<typeof hooksAfterUpdate>[1], RegExp]>([
    ['deleting an id the app does not have', { explicit_event_hooks_deletion: true, event_hooks: [{ id: 'nope', delete: true }] }, /no hook with this id/],
    ['deleting without an id', { explicit_event_hooks_deletion: true, event_hooks: [{ delete: true }] }, /needs the id/],
    ['a third pending_message hook through an upsert', { explicit_event_hooks_deletion: true, event_hooks: [pending, pending] }, /at most 2 pending_message hooks \(found 3/],
    ['a delete marker in a replace-all update', { event_hooks: [{ ...webhook, delete: true }] }, /explicit_event_hooks_deletion/],
    ['the same id twice', { explicit_event_hooks_deletion: true, event_hooks: [{ ...webhook, id: 'w' }, { id: 'w', delete: true }] }, /repeated/],
    ['not a list', { event_hooks: { hook_type: 'webhook' } }, /list/],
  ])('refuses %s', (_what, update, message) => {
    const result = hooksAfterUpdate(current, update);
    expect(result.ok).toBe(false);
    expect(result.problems.filter((p) => p.severity === 'error').map((p) => p.message).join('; ')).toMatch(message);
  });
});
