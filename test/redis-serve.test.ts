import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { redisServerBinary, redisUnavailable, startTestRedis, type TestRedis } from './support/redis.js';
import { appKey, appSecret, pendingBody, postSigned, sleep } from './support/servers.js';

/** Logs each run (so runs can be counted across processes), takes HANDLER_MS, deletes "bad". */
const handlers = `
export default {
  async PassOnPendingMessage(event, ctx) {
    ctx.log.info({ ran: event.message.id }, 'handler ran');
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.HANDLER_MS)));
    return { action: event.message.text === 'bad' ? 'delete' : 'commit' };
  },
};
`;

interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

let mock: MockStreamApi;
let redis: TestRedis;
let module: string;
const processes: ServeProcess[] = [];

beforeAll(async () => {
  if (redisUnavailable) return;
  mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
  // A server of its own when possible: serve uses the default key prefix, and its processes take
  // over the ack-first callbacks of any stopped process sharing the Redis.
  redis = await startTestRedis({ own: redisServerBinary !== undefined });
  const dir = await mkdtemp(join(tmpdir(), 'ph-redis-serve-'));
  module = join(dir, 'handlers.mjs');
  await writeFile(module, handlers);
});
afterAll(async () => {
  if (redisUnavailable) return;
  await mock.close();
  if (redis.own) await redis.stop();
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
  mock?.reset();
});

/** A serve process on the test's Redis, given by `--redis-url` or by `REDIS_URL`. */
async function serve(args: string[], handlerMs: number, redisBy: 'flag' | 'env'): Promise<ServeProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, STREAM_API_KEY: appKey, STREAM_API_SECRET: appSecret, LOG_LEVEL: 'info', HANDLER_MS: String(handlerMs) };
  delete env.REDIS_URL;
  if (redisBy === 'env') env.REDIS_URL = redis.url;
  else args = [...args, '--redis-url', redis.url];
  const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', module, '--port', '0', '--base-url', mock.url, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = performance.now();
  let match: RegExpExecArray | null = null;
  while (!(match = /"address":"(http:\/\/[^"]+)"/.exec(output))) {
    if (child.exitCode !== null || performance.now() - started > 15_000) throw new Error(`serve did not start:\n${output}`);
    await sleep(20);
  }
  const p: ServeProcess = { child, url: match[1]!, output: () => output, exited };
  processes.push(p);
  return p;
}

const lines = (p: ServeProcess) =>
  p
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

let counter = 0;
function pending(text = 'hello') {
  const id = `rs-${++counter}-${Date.now()}`;
  mock.addPendingMessage({ id, text });
  return { id, body: pendingBody({ id, text }), webhookId: `wh-${id}` };
}

describe.skipIf(redisUnavailable !== undefined)('two pending-hooks serve processes sharing one Redis', () => {
  it('the same webhook id sent to both at once: one handler run, one API call, the same answer from both', async () => {
    const [a, b] = await Promise.all([serve(['--timeout-ms', '1000'], 100, 'flag'), serve(['--timeout-ms', '1000'], 100, 'env')]);
    const messages = Array.from({ length: 12 }, (_, i) => pending(i % 3 === 0 ? 'bad' : 'fine'));
    const answers = await Promise.all(
      messages.map((m) =>
        Promise.all(
          [a!, b!].map(async (p) => {
            const response = await postSigned(`${p.url}/PassOnPendingMessage`, m.body, { webhookId: m.webhookId });
            return { status: response.status, body: await response.json() };
          }),
        ),
      ),
    );
    const runs = [...lines(a!), ...lines(b!)].filter((line) => line.msg === 'handler ran');
    for (const [i, m] of messages.entries()) {
      const [fromA, fromB] = answers[i]!;
      expect(fromA).toEqual({ status: 200, body: { action: i % 3 === 0 ? 'delete' : 'commit', timed_out: false } });
      expect(fromB).toEqual(fromA);
      expect(runs.filter((line) => line.ran === m.id)).toHaveLength(1);
      expect(mock.calls.filter((call) => call.messageId === m.id)).toHaveLength(1);
      expect(mock.commitCount(m.id)).toBe(1);
    }
  }, 40_000);

  it('SIGKILL of one instance with ack-first callbacks in flight: the other applies their decisions before the budget ends', async () => {
    const args = ['--timeout-ms', '3000', '--answer', 'ack-first'];
    const [a, b] = await Promise.all([serve(args, 300, 'env'), serve(args, 300, 'flag')]);
    const messages = Array.from({ length: 10 }, (_, i) => pending(i % 2 ? 'fine' : 'bad'));
    const sentAt = performance.now();
    const answers = await Promise.all(messages.map(async (m) => (await postSigned(`${a!.url}/PassOnPendingMessage`, m.body, { webhookId: m.webhookId })).json()));
    for (const answer of answers) expect(answer).toEqual({ accepted: true });
    a!.child.kill('SIGKILL');
    await a!.exited;
    const killedAt = performance.now();
    // Nothing was applied by the killed instance (its handler takes 300 ms).
    expect(killedAt - sentAt).toBeLessThan(300);
    await Promise.all(messages.map((m, i) => mock.waitForState(m.id, i % 2 ? 'committed' : 'deleted', 5000)));
    for (const m of messages) expect(mock.commitCount(m.id)).toBe(1);
    // The log lines follow the API calls through a pipe.
    for (let waited = 0; lines(b!).filter((line) => line.msg === 'decision').length < messages.length && waited < 3000; waited += 20) await sleep(20);
    const taken = lines(b!).filter((line) => line.msg === 'ack-first callback of a stopped instance taken over');
    expect(taken.map((line) => line.messageId).sort()).toEqual(messages.map((m) => m.id).sort());
    // Each decision reached the API within its budget (the server never calls after it; checked here too).
    const decided = lines(b!).filter((line) => line.msg === 'decision');
    for (const m of messages) {
      const line = decided.find((l) => l.messageId === m.id);
      expect(line).toMatchObject({ applied: 'applied', timedOut: false });
      expect(line!.budgetLeftMs as number).toBeGreaterThan(0);
    }
  }, 40_000);
});
