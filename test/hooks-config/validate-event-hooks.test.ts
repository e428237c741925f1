import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixMisspelledFields, readHooksDocument, validateEventHooks, type HooksProblem } from 'pending-hooks/hooks-config';

/** The seed document's `get_app_settings()` response, as JSON. */
const seed = JSON.parse(readFileSync(new URL('./fixtures/seed-get-app-settings.json', import.meta.url), 'utf8')) as { event_hooks: Record<string, unknown>[] };

const webhook = { enabled: true, hook_type: 'webhook', webhook_url: 'http://url1-webhook.com', event_types: ['channel.created'] };
const sqs = { enabled: true, hook_type: 'sqs', sqs_queue_url: 'http://url1-sqs.com', sqs_auth_type: 'keys', sqs_key: 'sqs-key', sqs_secret: 'sqs-secret', event_types: ['channel.created'] };
const role = 'arn:aws:iam::123456789012:role/SNSPublishRole';
const topic = 'arn:aws:sns:us-east-1:123456789012:MyTopic2';
const sns = { enabled: true, hook_type: 'sns', sns_topic_arn: topic, sns_auth_type: 'role', sns_role_arn: role, event_types: ['channel.created', 'channel.updated'] };
const pending = { enabled: true, hook_type: 'pending_message', webhook_url: 'http://test-url.com', timeout_ms: 500, callback: { mode: 'CALLBACK_MODE_REST' } };

/** Drops fields from a hook (`undefined` would still be a present key). */
function without<T extends Record<string, unknown>>(hook: T, ...fields: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(hook).filter(([field]) => !fields.includes(field)));
}

/** `severity code path` of every problem, in order: what each row pins down. */
const summary = (problems: readonly HooksProblem[]) => problems.map((p) => `${p.severity} ${p.code} ${p.path}`);

/** Validates one hook as the only entry of a list. */
const one = (hook: unknown) => validateEventHooks([hook]);

describe('validateEventHooks: the seed document', () => {
  it("the seed's example is refused for one reason only: sns_arn_topic, a misspelling of sns_topic_arn", () => {
    const result = validateEventHooks(seed.event_hooks);
    expect(result.valid).toBe(false);
    expect(result.problems).toEqual([
      {
        severity: 'error',
        code: 'misspelled_field',
        path: 'event_hooks[2].sns_arn_topic',
        correction: 'sns_topic_arn',
        message: 'is a misspelling of sns_topic_arn (Stream would ignore sns_arn_topic)',
      },
    ]);
  });

  it('with the misspelling renamed (what --fix does) the example is valid, with no warning', () => {
    const { hooks, renamed } = fixMisspelledFields(seed.event_hooks);
    expect(renamed).toEqual([{ path: 'event_hooks[2]', from: 'sns_arn_topic', to: 'sns_topic_arn' }]);
    expect(hooks[2]).toMatchObject({ sns_topic_arn: topic });
    expect(hooks[2]).not.toHaveProperty('sns_arn_topic');
    expect(validateEventHooks(hooks)).toMatchObject({ valid: true, problems: [] });
  });

  it('finds the list in a bare array, {event_hooks} and GET /app answers', () => {
    expect(readHooksDocument(seed.event_hooks)).toMatchObject({ ok: true, shape: 'list' });
    expect(readHooksDocument(seed)).toMatchObject({ ok: true, shape: 'event_hooks', hooks: seed.event_hooks });
    expect(readHooksDocument({ app: seed, duration: '1ms' })).toMatchObject({ ok: true, shape: 'app', hooks: seed.event_hooks });
    expect(readHooksDocument({ hooks: [] })).toMatchObject({ ok: false, reason: expect.stringMatching(/event_hooks/) });
  });
});

// One row per line of the seed's tables: [what, hook, expected problems (severity code path)].
const rows: [string, unknown, string[]][] = [
  // Common options
  ['common: id absent (Stream generates one)', webhook, []],
  ['common: id empty (Stream generates one)', { ...webhook, id: '' }, []],
  ["common: an id that is not a UUID (the seed's own e9b2c15b-…-adiqeq13mqw)", { ...webhook, id: 'e9b2c15b-53bd-4998-9791-adiqeq13mqw' }, []],
  ['common: id not a string', { ...webhook, id: 42 }, ['error invalid_value event_hooks[0].id']],
  ['common: enabled absent (required)', without(webhook, 'enabled'), ['error missing_field event_hooks[0].enabled']],
  ['common: enabled a string', { ...webhook, enabled: 'true' }, ['error invalid_value event_hooks[0].enabled']],
  ['common: enabled false is legal, with a warning', { ...webhook, enabled: false }, ['warning disabled event_hooks[0].enabled']],
  ['common: hook_type absent', without(webhook, 'hook_type'), ['error missing_field event_hooks[0].hook_type']],
  ['common: hook_type unknown', { ...webhook, hook_type: 'carrier_pigeon' }, ['error unknown_hook_type event_hooks[0].hook_type']],
  ['common: hook_type spelled otherwise', { ...webhook, hook_type: 'Webhook' }, ['error unknown_hook_type event_hooks[0].hook_type']],
  ['common: hook_type of the old single webhook', { ...webhook, hook_type: 'pending' }, ['error unknown_hook_type event_hooks[0].hook_type']],
  ['common: event_types absent → every future event (warning)', without(webhook, 'event_types'), ['warning all_events event_hooks[0].event_types']],
  ['common: event_types empty → every future event (warning)', { ...webhook, event_types: [] }, ['warning all_events event_hooks[0].event_types']],
  ['common: event_types null → every future event (warning)', { ...webhook, event_types: null }, ['warning all_events event_hooks[0].event_types']],
  ['common: event_types a string, not a list', { ...webhook, event_types: 'message.new' }, ['error invalid_value event_hooks[0].event_types']],
  ['common: event_types with an empty name and a number', { ...webhook, event_types: ['', 3] }, ['error invalid_value event_hooks[0].event_types[0]', 'error invalid_value event_hooks[0].event_types[1]']],
  ['common: event_types repeated', { ...webhook, event_types: ['message.new', 'message.new'] }, ['warning duplicate_event_type event_hooks[0].event_types[1]']],
  ['common: an event type not shaped scope.name', { ...webhook, event_types: ['Message New'] }, ['warning unusual_event_type event_hooks[0].event_types[0]']],
  ['common: event types with several dots and underscores', { ...webhook, event_types: ['notification.message_new', 'channel.created'] }, []],
  // Webhook options
  ['webhook: valid', webhook, []],
  ['webhook: webhook_url absent', without(webhook, 'webhook_url'), ['error missing_field event_hooks[0].webhook_url']],
  ['webhook: webhook_url empty', { ...webhook, webhook_url: '' }, ['error missing_field event_hooks[0].webhook_url']],
  ['webhook: webhook_url not a URL', { ...webhook, webhook_url: 'url1-webhook' }, ['error invalid_value event_hooks[0].webhook_url']],
  ['webhook: webhook_url not http(s)', { ...webhook, webhook_url: 'ftp://files.example.com/in' }, ['error invalid_value event_hooks[0].webhook_url']],
  ["webhook: the seed's templated URL", { ...webhook, webhook_url: 'http://my.webhook.host/{{.AppID}}/{{.EventType}}' }, []],
  ['webhook: a field of another hook type', { ...webhook, timeout_ms: 500 }, ['warning field_of_other_type event_hooks[0].timeout_ms']],
  ['webhook: an unknown field', { ...webhook, retries: 3 }, ['warning unknown_field event_hooks[0].retries']],
  ['webhook: webhook_url misspelled', { ...without(webhook, 'webhook_url'), webhok_url: 'http://x.com' }, ['error misspelled_field event_hooks[0].webhok_url']],
  ['webhook: a delete marker outside an explicit-deletion update', { ...webhook, delete: true }, ['error delete_marker event_hooks[0].delete']],
  // SQS options
  ['sqs: keys auth with key and secret', sqs, []],
  ['sqs: role auth with a role ARN', { ...without(sqs, 'sqs_key', 'sqs_secret'), sqs_auth_type: 'role', sqs_role_arn: role }, []],
  ['sqs: resource auth needs nothing more', { ...without(sqs, 'sqs_key', 'sqs_secret'), sqs_auth_type: 'resource' }, []],
  ['sqs: sqs_queue_url absent', without(sqs, 'sqs_queue_url'), ['error missing_field event_hooks[0].sqs_queue_url']],
  ['sqs: sqs_auth_type absent', without(sqs, 'sqs_auth_type'), ['error missing_field event_hooks[0].sqs_auth_type']],
  ['sqs: sqs_auth_type unknown', { ...sqs, sqs_auth_type: 'password' }, ['error invalid_value event_hooks[0].sqs_auth_type']],
  ['sqs: keys without sqs_key', without(sqs, 'sqs_key'), ['error missing_field event_hooks[0].sqs_key']],
  ['sqs: keys without sqs_secret', without(sqs, 'sqs_secret'), ['error missing_field event_hooks[0].sqs_secret']],
  ['sqs: keys with an empty secret', { ...sqs, sqs_secret: '' }, ['error missing_field event_hooks[0].sqs_secret']],
  ['sqs: keys without key nor secret: both reported', without(sqs, 'sqs_key', 'sqs_secret'), ['error missing_field event_hooks[0].sqs_key', 'error missing_field event_hooks[0].sqs_secret']],
  ['sqs: role without sqs_role_arn', { ...without(sqs, 'sqs_key', 'sqs_secret'), sqs_auth_type: 'role' }, ['error missing_field event_hooks[0].sqs_role_arn']],
  ['sqs: role with something that is not a role ARN', { ...without(sqs, 'sqs_key', 'sqs_secret'), sqs_auth_type: 'role', sqs_role_arn: 'SNSPublishRole' }, ['error invalid_value event_hooks[0].sqs_role_arn']],
  ['sqs: resource auth with keys left over (ignored)', { ...sqs, sqs_auth_type: 'resource' }, ['warning unused_field event_hooks[0].sqs_key', 'warning unused_field event_hooks[0].sqs_secret']],
  // SNS options
  ['sns: role auth, as in the seed (spelled as its table says)', sns, []],
  ['sns: keys auth with key and secret', { ...without(sns, 'sns_role_arn'), sns_auth_type: 'keys', sns_key: 'k', sns_secret: 's' }, []],
  ['sns: resource auth needs nothing more', { ...without(sns, 'sns_role_arn'), sns_auth_type: 'resource' }, []],
  ['sns: sns_topic_arn absent', without(sns, 'sns_topic_arn'), ['error missing_field event_hooks[0].sns_topic_arn']],
  ['sns: sns_topic_arn empty', { ...sns, sns_topic_arn: '' }, ['error missing_field event_hooks[0].sns_topic_arn']],
  ['sns: sns_topic_arn not an SNS topic ARN', { ...sns, sns_topic_arn: 'MyTopic2' }, ['error invalid_value event_hooks[0].sns_topic_arn']],
  ["sns: the seed example's sns_arn_topic", { ...without(sns, 'sns_topic_arn'), sns_arn_topic: topic }, ['error misspelled_field event_hooks[0].sns_arn_topic']],
  ['sns: sns_arn_topic beside sns_topic_arn', { ...sns, sns_arn_topic: topic }, ['error misspelled_field event_hooks[0].sns_arn_topic']],
  ['sns: sns_auth_type absent', without(sns, 'sns_auth_type'), ['error missing_field event_hooks[0].sns_auth_type']],
  ['sns: keys without sns_key', { ...without(sns, 'sns_role_arn'), sns_auth_type: 'keys', sns_secret: 's' }, ['error missing_field event_hooks[0].sns_key']],
  ['sns: keys without sns_secret', { ...without(sns, 'sns_role_arn'), sns_auth_type: 'keys', sns_key: 'k' }, ['error missing_field event_hooks[0].sns_secret']],
  ['sns: role without sns_role_arn', without(sns, 'sns_role_arn'), ['error missing_field event_hooks[0].sns_role_arn']],
  ['sns: an sqs field on an sns hook', { ...sns, sqs_queue_url: 'http://q.com' }, ['warning field_of_other_type event_hooks[0].sqs_queue_url']],
  // Pending message options
  ['pending_message: REST, as in the seed', pending, []],
  ['pending_message: Twirp', { ...pending, callback: { mode: 'CALLBACK_MODE_TWIRP' } }, []],
  ['pending_message: CALLBACK_MODE_NONE without webhook_url', { ...without(pending, 'webhook_url'), callback: { mode: 'CALLBACK_MODE_NONE' } }, []],
  ['pending_message: CALLBACK_MODE_NONE with a webhook_url (never called)', { ...pending, callback: { mode: 'CALLBACK_MODE_NONE' } }, ['warning unused_field event_hooks[0].webhook_url']],
  ['pending_message: REST without webhook_url', without(pending, 'webhook_url'), ['error missing_field event_hooks[0].webhook_url']],
  ['pending_message: Twirp with an empty webhook_url', { ...pending, webhook_url: '', callback: { mode: 'CALLBACK_MODE_TWIRP' } }, ['error missing_field event_hooks[0].webhook_url']],
  ['pending_message: webhook_url not a URL', { ...pending, webhook_url: 'test-url' }, ['error invalid_value event_hooks[0].webhook_url']],
  ['pending_message: timeout_ms absent', without(pending, 'timeout_ms'), ['error missing_field event_hooks[0].timeout_ms']],
  ['pending_message: timeout_ms 0', { ...pending, timeout_ms: 0 }, ['error invalid_value event_hooks[0].timeout_ms']],
  ['pending_message: timeout_ms negative', { ...pending, timeout_ms: -500 }, ['error invalid_value event_hooks[0].timeout_ms']],
  ['pending_message: timeout_ms fractional', { ...pending, timeout_ms: 1.5 }, ['error invalid_value event_hooks[0].timeout_ms']],
  ['pending_message: timeout_ms a string', { ...pending, timeout_ms: '500' }, ['error invalid_value event_hooks[0].timeout_ms']],
  ['pending_message: timeout_ms 3 days', { ...pending, timeout_ms: 259_200_000 }, []],
  ['pending_message: callback absent', without(pending, 'callback'), ['error missing_field event_hooks[0].callback']],
  ['pending_message: callback.mode absent', { ...pending, callback: {} }, ['error missing_field event_hooks[0].callback.mode']],
  ['pending_message: callback.mode unknown', { ...pending, callback: { mode: 'REST' } }, ['error invalid_value event_hooks[0].callback.mode']],
  ['pending_message: no event_types is no warning (it gets pending messages, not events)', pending, []],
  // Not a hook at all
  ['an entry that is not an object', 'webhook', ['error invalid_value event_hooks[0]']],
];

describe('validateEventHooks: one hook, row by row of the seed tables', () => {
  it.each(rows)('%s', (_what, hook, expected) => {
    const result = one(hook);
    expect(summary(result.problems)).toEqual(expected);
    expect(result.valid).toBe(!expected.some((line) => line.startsWith('error')));
    for (const problem of result.problems) expect(problem.message.length).toBeGreaterThan(10);
  });

  it('messages say what is wrong in plain words', () => {
    expect(one(without(sqs, 'sqs_secret')).problems[0]?.message).toBe('is required when sqs_auth_type is "keys" (the AWS secret access key)');
    expect(one(without(sns, 'sns_role_arn')).problems[0]?.message).toBe('is required when sns_auth_type is "role" (the IAM role Stream assumes)');
    expect(one(without(pending, 'webhook_url')).problems[0]?.message).toBe('is required unless callback.mode is CALLBACK_MODE_NONE');
    expect(one(without(pending, 'timeout_ms')).problems[0]?.message).toBe('is required for pending_message hooks');
    expect(one({ ...pending, timeout_ms: 1.5 }).problems[0]?.message).toBe('must be a whole number of milliseconds (got 1.5)');
    expect(one({ ...webhook, hook_type: 'carrier_pigeon' }).problems[0]?.message).toBe('hook_type must be one of webhook, sqs, sns, pending_message (got "carrier_pigeon")');
    expect(one({ ...pending, callback: { mode: 'REST' } }).problems[0]?.message).toBe('must be one of CALLBACK_MODE_NONE, CALLBACK_MODE_REST, CALLBACK_MODE_TWIRP (got "REST")');
    expect(one({ ...webhook, enabled: 'true' }).problems[0]?.message).toBe('must be true or false (got "true")');
    expect(one(without(webhook, 'event_types')).problems[0]?.message).toBe('no event_types: the hook subscribes to every current and future event type');
  });
});

describe('validateEventHooks: rules across the list', () => {
  it('at most two pending_message hooks: three is an error', () => {
    const result = validateEventHooks([pending, { ...pending, timeout_ms: 900 }, { ...pending, timeout_ms: 1200 }]);
    expect(summary(result.problems)).toEqual(['error too_many_pending_message_hooks event_hooks']);
    expect(result.problems[0]?.message).toBe('an app can have at most 2 pending_message hooks (found 3: event_hooks[0], event_hooks[1], event_hooks[2])');
    expect(result.valid).toBe(false);
  });

  it('with two pending_message hooks the longest timeout_ms wins, shown as a note', () => {
    const result = validateEventHooks([webhook, { ...pending, timeout_ms: 500 }, { ...pending, timeout_ms: 1500, callback: { mode: 'CALLBACK_MODE_TWIRP' } }]);
    expect(result.valid).toBe(true);
    expect(result.problems).toEqual([
      {
        severity: 'note',
        code: 'longest_timeout_wins',
        path: 'event_hooks[2].timeout_ms',
        message: 'with two pending_message hooks Stream uses the longest timeout_ms: 1500 ms (event_hooks[2]), not 500 ms (event_hooks[1])',
      },
    ]);
    const longestFirst = validateEventHooks([{ ...pending, timeout_ms: 2000 }, pending]);
    expect(summary(longestFirst.problems)).toEqual(['note longest_timeout_wins event_hooks[0].timeout_ms']);
    expect(summary(validateEventHooks([pending, pending]).problems)).toEqual(['note longest_timeout_wins event_hooks[0].timeout_ms']);
    expect(summary(validateEventHooks([pending]).problems)).toEqual([]);
  });

  it('ids are unique', () => {
    const result = validateEventHooks([{ ...webhook, id: 'a' }, { ...sqs, id: 'b' }, { ...sns, id: 'a' }, { ...pending, id: '' }, { ...pending, id: '' }]);
    expect(summary(result.problems).filter((line) => !line.startsWith('note'))).toEqual(['error duplicate_id event_hooks[2].id']);
    expect(result.problems[0]?.message).toBe('id "a" is repeated (also at event_hooks[0]): each hook needs its own');
  });

  it('reports every problem of every hook at once, in list order', () => {
    const result = validateEventHooks([
      { hook_type: 'sqs', sqs_auth_type: 'keys', sqs_key: 'k' },
      { ...without(sns, 'sns_topic_arn'), sns_arn_topic: topic, enabled: false },
      { hook_type: 'telegram' },
      { ...pending, callback: { mode: 'CALLBACK_MODE_REST' }, webhook_url: '' },
    ]);
    expect(summary(result.problems)).toEqual([
      'error missing_field event_hooks[0].enabled',
      'error missing_field event_hooks[0].sqs_queue_url',
      'error missing_field event_hooks[0].sqs_secret',
      'warning all_events event_hooks[0].event_types',
      'error misspelled_field event_hooks[1].sns_arn_topic',
      'warning disabled event_hooks[1].enabled',
      'error unknown_hook_type event_hooks[2].hook_type',
      'error missing_field event_hooks[3].webhook_url',
    ]);
  });

  it('an empty list is valid (it deletes every hook when applied, which apply guards)', () => {
    expect(validateEventHooks([])).toEqual({ valid: true, problems: [], hooks: [] });
  });

  it.each([
    ['an object', { event_hooks: [] }],
    ['null', null],
    ['a string', 'webhook'],
  ])('a list is required, not %s', (_what, value) => {
    expect(summary(validateEventHooks(value).problems)).toEqual(['error not_a_list event_hooks']);
  });
});
