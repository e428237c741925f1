/**
 * `npm start`: the example moderation server (examples/moderation-handlers.ts) fed by the
 * built-in emulator of Stream — no Stream account needed. It starts a mock Stream API, serves the
 * handlers, sends a round of signed pending-message callbacks the way Stream does, prints each
 * decision with its latency, then keeps serving on the printed port.
 */
import pino from 'pino';
import { createMockStreamApi, sampleMessage, samplePayload, sendCallback } from 'pending-hooks/emulator';
import { createPendingHooks, createServer } from 'pending-hooks';
import moderation from './moderation-handlers.js';

const apiKey = 'demo-key';
const apiSecret = 'demo-secret-do-not-use-in-production';
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 500);

const script: { text: string; note: string; gzip?: boolean }[] = [
  { text: 'Hey team, standup moved to 10:30 🙂', note: 'clean' },
  { text: 'Get FREE CRYPTO now!!! click here', note: 'blocklist' },
  { text: 'Kannst du mir die Datei schicken? 📎', note: 'clean, gzip body', gzip: true },
  { text: 'WHY IS NOBODY ANSWERING MY TICKET', note: 'classifier: shouting' },
  { text: 'download this https://totally-legit.zip now', note: 'classifier: link' },
  { text: 'this one makes the classifier think too long [slow]', note: 'timeout → fallback' },
  { text: 'これは普通のメッセージです', note: 'clean' },
  { text: 'you are a badword', note: 'blocklist' },
];

const out = (line: string) => process.stdout.write(`${line}\n`);
const pad = (value: string, width: number) => (value.length > width ? `${value.slice(0, width - 1)}…` : value.padEnd(width));

async function main() {
  const stream = await createMockStreamApi({ apps: [{ apiKey, secret: apiSecret }] });
  const hooks = createPendingHooks({
    apiKey,
    apiSecret,
    timeoutMs,
    fallback: 'keep_pending',
    api: { baseUrl: stream.url },
    // Decisions are printed below; the structured log keeps warnings and errors on stderr.
    logger: pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)),
  });
  hooks.on('PassOnPendingMessage', moderation.PassOnPendingMessage).on('DeletedPendingMessage', moderation.DeletedPendingMessage);
  const app = await createServer(hooks, { handleSignals: true });
  app.addHook('onClose', () => stream.close());
  const requestedPort = Number(process.env.PORT ?? 3000);
  let address: string;
  try {
    address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: requestedPort });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    out(`port ${requestedPort} is busy; using a free one`);
    address = await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: 0 });
  }

  out(`pending-hooks example: moderation server on ${address}, mock Stream API on ${stream.url}`);
  out(`budget timeout_ms=${timeoutMs}, fallback=keep_pending; sending ${script.length} signed callbacks the way Stream does…\n`);
  out(`${pad('#', 3)}${pad('message', 46)}${pad('decision', 14)}${pad('reason', 40)}${pad('latency', 10)}Stream state`);

  const tally = new Map<string, number>();
  let index = 0;
  for (const step of script) {
    index++;
    const message = sampleMessage({ text: step.text, html: undefined }, `demo-${index}`);
    stream.addPendingMessage(message, { timeoutMs: 5 * 60_000 });
    const started = performance.now();
    const result = await sendCallback({ url: address, payload: samplePayload(message), secret: apiSecret, apiKey, gzip: step.gzip });
    const latency = performance.now() - started;
    const answer = (result.body ?? {}) as { action?: string; reason?: string; timed_out?: boolean };
    const action = answer.timed_out ? `${answer.action} ⏱` : String(answer.action ?? result.status);
    tally.set(answer.action ?? 'error', (tally.get(answer.action ?? 'error') ?? 0) + 1);
    out(`${pad(String(index), 3)}${pad(JSON.stringify(step.text), 46)}${pad(action, 14)}${pad(answer.reason ?? '', 40)}${pad(`${latency.toFixed(1)} ms`, 10)}${stream.stateOf(message.id)}`);
  }

  // Stream retries a callback whose answer it did not get: same X-Webhook-Id, the handler does not run again.
  const retried = sampleMessage({ text: 'a retried callback' }, 'demo-retry');
  stream.addPendingMessage(retried);
  const first = await sendCallback({ url: address, payload: samplePayload(retried), secret: apiSecret, apiKey, webhookId: 'demo-webhook-1' });
  const again = await sendCallback({ url: address, payload: samplePayload(retried), secret: apiSecret, apiKey, webhookId: 'demo-webhook-1', headers: { 'x-webhook-attempt': '2' } });
  out(`\nretry of webhook demo-webhook-1: first ${JSON.stringify(first.body)}, retry ${JSON.stringify(again.body)}; Stream saw ${stream.commitCount(retried.id)} commit`);

  const unsigned = await sendCallback({ url: address, payload: samplePayload(retried), secret: 'wrong-secret', apiKey });
  out(`a callback signed with the wrong secret: ${unsigned.status} ${JSON.stringify(unsigned.body)}`);

  out(`\nsummary: ${[...tally].map(([action, n]) => `${action} ${n}`).join(', ')}`);
  out(`\nstill serving on ${address} (Ctrl-C to stop). Send your own callback:`);
  out(`  body='{"message":{"id":"m1","text":"hello"}}'`);
  out(`  curl -s ${address}/PassOnPendingMessage -H 'content-type: application/json' -H 'x-api-key: ${apiKey}' \\`);
  out(`    -H "x-signature: $(printf %s "$body" | openssl dgst -sha256 -hmac '${apiSecret}' -hex | cut -d' ' -f2)" -d "$body"`);
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
