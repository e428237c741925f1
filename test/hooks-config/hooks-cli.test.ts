import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from 'pending-hooks/emulator';

const bin = join(process.cwd(), 'bin/pending-hooks.js');
const app = { apiKey: 'cli-hooks-key', secret: 'cli-hooks-secret-do-not-echo' };
const seedFile = new URL('./fixtures/seed-get-app-settings.json', import.meta.url);

/** Runs the CLI as a user does; resolves with its exit code and output (never rejects). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const clean = { ...process.env, STREAM_API_KEY: '', STREAM_API_SECRET: '', STREAM_BASE_URL: '' };
    execFile(process.execPath, [bin, ...args], { env: { ...clean, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

let dir: string;
async function file(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

describe('pending-hooks hooks validate (a real process)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ph-hooks-cli-'));
  });

  it("exit 2 for the seed's example, one line per problem, a summary, and the --fix hint", async () => {
    const path = await file('seed.json', await readFile(seedFile, 'utf8'));
    const result = await cli(['hooks', 'validate', path]);
    expect(result).toEqual({
      code: 2,
      stdout: `error    event_hooks[2].sns_arn_topic: is a misspelling of sns_topic_arn (Stream would ignore sns_arn_topic)\n${path}: invalid (1 error, 0 warnings, 0 notes)\n`,
      stderr: `pending-hooks: ${path} is not valid (misspelled fields: --fix renames them)\n`,
    });
  });

  it('--fix renames the field in the file and exits 0; the file then validates', async () => {
    const path = await file('fix.json', await readFile(seedFile, 'utf8'));
    const fixed = await cli(['hooks', 'validate', path, '--fix']);
    expect(fixed).toMatchObject({ code: 0, stdout: `fixed    event_hooks[2].sns_arn_topic: renamed to sns_topic_arn\n${path}: valid (0 errors, 0 warnings, 0 notes)\n` });
    const written = JSON.parse(await readFile(path, 'utf8')) as { event_hooks: Record<string, unknown>[] };
    expect(written.event_hooks[2]).toHaveProperty('sns_topic_arn', 'arn:aws:sns:us-east-1:123456789012:MyTopic2');
    expect(written.event_hooks[2]).not.toHaveProperty('sns_arn_topic');
    expect((await cli(['hooks', 'validate', path])).code).toBe(0);
  });

  it('warnings alone exit 0; --json reports every problem', async () => {
    const path = await file('warn.json', [{ enabled: false, hook_type: 'webhook', webhook_url: 'https://h.example.com/{{.EventType}}' }]);
    const result = await cli(['hooks', 'validate', path, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      file: path,
      valid: true,
      fixed: [],
      problems: [
        expect.objectContaining({ severity: 'warning', code: 'disabled', path: 'event_hooks[0].enabled' }),
        expect.objectContaining({ severity: 'warning', code: 'all_events', path: 'event_hooks[0].event_types' }),
      ],
    });
  });

  it.each([
    ['a file that does not exist', ['hooks', 'validate', '/no/such/hooks.json'], /^pending-hooks: cannot read \/no\/such\/hooks\.json: /],
    ['a file that is not JSON', ['hooks', 'validate', '<notjson>'], /is not valid JSON/],
    ['JSON without event_hooks', ['hooks', 'validate', '<nohooks>'], /expected an event_hooks list/],
    ['a missing file argument', ['hooks', 'validate'], /missing required argument 'file'/],
  ])('exit 2 for %s', async (_what, args, message) => {
    const resolved = await Promise.all(args.map(async (arg) => (arg === '<notjson>' ? file('bad.json', '{"event_hooks": [') : arg === '<nohooks>' ? file('nohooks.json', { hooks: [] }) : arg)));
    const result = await cli(resolved);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe('pending-hooks hooks diff / apply against the emulated Stream API (a real process, real HTTP)', () => {
  let mock: MockStreamApi;
  let env: Record<string, string>;
  const webhook = { enabled: true, hook_type: 'webhook', webhook_url: 'http://url1-webhook.com', event_types: ['channel.created'] };
  const pending = { enabled: true, hook_type: 'pending_message', webhook_url: 'http://test-url.com', timeout_ms: 500, callback: { mode: 'CALLBACK_MODE_REST' } };

  beforeAll(async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'ph-hooks-cli-'));
    mock = await createMockStreamApi({ apps: [app] });
    env = { STREAM_API_KEY: app.apiKey, STREAM_API_SECRET: app.secret, STREAM_BASE_URL: mock.url };
  });
  beforeEach(() => mock.reset());
  afterAll(() => mock.close());

  it('apply creates, diff then shows nothing to do, apply of a shorter list refuses (exit 2) and changes nothing', async () => {
    const both = await file('both.json', { event_hooks: [webhook, pending] });
    const created = await cli(['hooks', 'apply', both], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^\+ add {5}event_hooks\[0\] webhook http:\/\/url1-webhook\.com \(Stream generates the id\)\n/);
    expect(created.stdout).toContain('applied: PATCH /app with the whole list\n');
    const stored = mock.eventHooks();
    expect(stored.map((hook) => hook.hook_type)).toEqual(['webhook', 'pending_message']);

    const diff = await cli(['hooks', 'diff', both], env);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/0 to add, 0 to change, 0 to delete, 2 unchanged\n$/);

    const onlyWebhook = await file('only-webhook.json', [{ ...stored[0], webhook_url: 'http://url1-new-webhook.com' }]);
    const shown = await cli(['hooks', 'diff', onlyWebhook], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`~ change  ${stored[0]!.id} webhook http://url1-new-webhook.com: webhook_url "http://url1-webhook.com" -> "http://url1-new-webhook.com"\n- delete  ${stored[1]!.id} pending_message http://test-url.com\n`);

    const patchesBefore = mock.calls.filter((call) => call.action === 'patch_app').length;
    const refused = await cli(['hooks', 'apply', onlyWebhook], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`pending-hooks: refusing to delete 1 hook(s) the file leaves out (${stored[1]!.id}): add them to the file, or pass --allow-delete; nothing was changed\n`);
    expect(mock.calls.filter((call) => call.action === 'patch_app')).toHaveLength(patchesBefore);
    expect(mock.eventHooks()).toEqual(stored);

    const allowed = await cli(['hooks', 'apply', onlyWebhook, '--allow-delete', '--explicit-deletion', '--json'], env);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ status: 'applied', plan: { deleted: [{ id: stored[1]!.id, hook_type: 'pending_message' }] }, ids: [{ id: stored[0]!.id }] });
    expect(mock.eventHooks().map((hook) => hook.webhook_url)).toEqual(['http://url1-new-webhook.com']);
  });

  it('an invalid file: exit 2 and nothing is sent', async () => {
    const result = await cli(['hooks', 'apply', await file('three.json', [pending, pending, pending])], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('error    event_hooks: an app can have at most 2 pending_message hooks (found 3: event_hooks[0], event_hooks[1], event_hooks[2])\n');
    expect(mock.calls).toEqual([]);
  });

  it('credentials: none is exit 2; a wrong secret is exit 1 (Stream refuses); the secret is never printed', async () => {
    const path = await file('one.json', [webhook]);
    const none = await cli(['hooks', 'diff', path], { STREAM_BASE_URL: mock.url });
    expect(none).toMatchObject({ code: 2, stderr: 'pending-hooks: no Stream app: set STREAM_API_KEY (or --api-key) and STREAM_API_SECRET\n' });
    const wrong = await cli(['hooks', 'apply', path], { ...env, STREAM_API_SECRET: 'wrong-secret-do-not-echo' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^pending-hooks: GET \/app: HTTP 401 \(code 43\): /);
    for (const output of [none.stdout, none.stderr, wrong.stdout, wrong.stderr]) expect(output).not.toMatch(/do-not-echo/);
  });

  it('Stream unreachable: exit 1, one line', async () => {
    const result = await cli(['hooks', 'diff', await file('one.json', [webhook]), '--base-url', 'http://127.0.0.1:9'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^pending-hooks: GET \/app http:\/\/127\.0\.0\.1:9: .+\n$/);
  });
});
