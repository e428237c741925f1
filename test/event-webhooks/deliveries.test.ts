import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createEventWebhooks, type StreamEvent } from 'pending-hooks';
import { decodeSnsNotification, decodeSqsBody, DeliveryDecodeError, parseSnsMessage } from 'pending-hooks/deliveries';
import { decodeStrictBase64 } from '../../src/deliveries/strict-base64.js';
import { consumeStreamEvents, type QueuedMessage } from '../../examples/sqs-consumer.js';

const silent = pino({ level: 'silent' });
const eventJson = JSON.stringify({ type: 'message.new', cid: 'messaging:general', message: { id: 'm1', text: 'hi' }, user: { id: 'u1' } });
const b64 = (bytes: string | Uint8Array) => Buffer.from(bytes).toString('base64');

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryDecodeError);
  return (error as DeliveryDecodeError).code;
}

describe('SQS bodies', () => {
  it('decodes plain and gzip payloads into the same event', async () => {
    const plain = await decodeSqsBody(b64(eventJson));
    const gzipped = await decodeSqsBody(b64(gzipSync(eventJson)));
    expect(plain).toEqual(JSON.parse(eventJson));
    expect(gzipped).toEqual(plain);
  });

  it('refuses base64 that is not canonical, in one pass', async () => {
    const good = b64(eventJson);
    for (const [body, why] of [
      [`${good.slice(0, 8)} ${good.slice(8)}`, 'a space'],
      [`${good.slice(0, 8)}\n${good.slice(9)}`, 'a newline'],
      [good.replace(/=+$/, ''), 'no padding'],
      [`${good.slice(0, 4)}*${good.slice(5)}`, 'a character outside the alphabet'],
      [`${good.slice(0, 4)}é${good.slice(5)}`, 'a non-ASCII character'],
      ['YWJ=', 'trailing bits set'],
      ['', 'nothing'],
      [`${good.slice(0, -4)}=AAA`, 'padding inside'],
    ] as const) {
      expect(await refusal(decodeSqsBody(body)), why).toBe('invalid_base64');
    }
    expect(decodeStrictBase64('YWI=')).toEqual(Buffer.from('ab'));
    expect(decodeStrictBase64('YWJj')).toEqual(Buffer.from('abc'));
    expect(typeof decodeStrictBase64('YWJ=')).toBe('string');
    // Linear: a megabyte of near-valid text is refused fast.
    const started = performance.now();
    expect(typeof decodeStrictBase64(`${'A'.repeat(1_000_000)}*AAA`)).toBe('string');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('refuses truncated gzip, a gzip bomb over the bound, non-JSON and JSON that is not an event', async () => {
    const gz = gzipSync(eventJson);
    expect(await refusal(decodeSqsBody(b64(gz.subarray(0, gz.length - 10))))).toBe('invalid_gzip');
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await refusal(decodeSqsBody(b64(bomb)))).toBe('too_large');
    expect(await refusal(decodeSqsBody(b64(gzipSync(Buffer.alloc(2048, 0x20))), { maxBytes: 1024 }))).toBe('too_large');
    expect(await refusal(decodeSqsBody('A'.repeat(4 * 1024 * 1024)))).toBe('too_large');
    expect(await refusal(decodeSqsBody(b64('not json')))).toBe('malformed_json');
    expect(await refusal(decodeSqsBody(b64(gzipSync('{"type":'))))).toBe('malformed_json');
    expect(await refusal(decodeSqsBody(b64('[1]')))).toBe('invalid_payload');
    expect(await refusal(decodeSqsBody(b64('{"cid":"x"}')))).toBe('invalid_payload');
    expect(await refusal(decodeSqsBody(b64(`{"type":"a.b","x":${'['.repeat(200)}${']'.repeat(200)}}`)))).toBe('malformed_json');
  });
});

describe('SNS notifications', () => {
  const envelope = (message: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      Type: 'Notification',
      MessageId: 'sns-1',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:stream',
      Message: message,
      Timestamp: '2026-01-01T00:00:00.000Z',
      SignatureVersion: '2',
      Signature: 'c2ln',
      SigningCertURL: 'https://sns.us-east-1.amazonaws.com/cert.pem',
      ...extra,
    });

  it('decodes plain and gzip payloads from the envelope', async () => {
    expect(await decodeSnsNotification(envelope(b64(eventJson)))).toEqual(JSON.parse(eventJson));
    expect(await decodeSnsNotification(Buffer.from(envelope(b64(gzipSync(eventJson)))))).toEqual(JSON.parse(eventJson));
    expect(parseSnsMessage(envelope('x')).MessageId).toBe('sns-1');
  });

  it('refuses malformed envelopes and payloads', async () => {
    expect(await refusal(decodeSnsNotification('not json'))).toBe('invalid_envelope');
    expect(await refusal(decodeSnsNotification('{"Type":"Notification"}'))).toBe('invalid_envelope');
    expect(await refusal(decodeSnsNotification(envelope('x', { Type: 'Other' })))).toBe('invalid_envelope');
    expect(await refusal(decodeSnsNotification(envelope('x', { Message: { nested: true } })))).toBe('invalid_envelope');
    expect(await refusal(decodeSnsNotification(envelope('x', { Type: 'SubscriptionConfirmation', SubscribeURL: 'https://x', Token: 't' })))).toBe('invalid_envelope');
    expect(await refusal(decodeSnsNotification(envelope('not base64!')))).toBe('invalid_base64');
    expect(await refusal(decodeSnsNotification(envelope(b64(gzipSync(eventJson).subarray(0, 20)))))).toBe('invalid_gzip');
    expect(await refusal(decodeSnsNotification(envelope(b64('<xml/>'))))).toBe('malformed_json');
  });
});

describe('one handler set for webhook, SQS and SNS deliveries', () => {
  it('the example consumer dispatches, deletes handled and undecodable messages, and leaves failed ones on the queue', async () => {
    const events = createEventWebhooks({ logger: silent });
    const seen: string[] = [];
    events.on('message.*', (event: StreamEvent, { delivery }) => {
      seen.push(`${event.type}:${delivery.via}:${delivery.id}`);
      if (delivery.id === 'q-fail') throw new Error('handler down');
    });
    const queue: QueuedMessage[] = [
      { id: 'q-plain', body: b64(eventJson), receipt: 'r1' },
      { id: 'q-gzip', body: b64(gzipSync(eventJson)), receipt: 'r2' },
      { id: 'q-bad', body: 'not base64', receipt: 'r3' },
      { id: 'q-fail', body: b64(eventJson), receipt: 'r4' },
    ];
    const deleted: string[] = [];
    const stop = new AbortController();
    const lines: string[] = [];
    await consumeStreamEvents({
      events,
      signal: stop.signal,
      async receive() {
        const batch = queue.splice(0);
        if (batch.length === 0) stop.abort();
        return batch;
      },
      async delete(message) {
        deleted.push(message.id);
      },
      log: (line) => lines.push(line),
    });
    expect(seen.sort()).toEqual(['message.new:sqs:q-fail', 'message.new:sqs:q-gzip', 'message.new:sqs:q-plain']);
    expect(deleted.sort()).toEqual(['q-bad', 'q-gzip', 'q-plain']);
    expect(lines).toEqual(['undecodable SQS message deleted']);
  });

  it('dispatch reports failures to onError and refuses what is not an event', async () => {
    const events = createEventWebhooks({ logger: silent });
    const reported: string[] = [];
    events.on('user.banned', (event) => {
      throw new Error(`no ${event.user.id}`);
    });
    events.onError((error) => void reported.push(error.message));
    const result = await events.dispatch({ type: 'user.banned', user: { id: 'u1' } });
    expect(result.handlers).toBe(1);
    expect(result.errors.map((e) => (e.cause as Error).message)).toEqual(['no u1']);
    expect(reported).toEqual(['the user.banned handler failed on a user.banned event: no u1']);
    expect((await events.dispatch({ type: 'user.updated', user: { id: 'u1' } })).handlers).toBe(0);
    await expect(events.dispatch({ cid: 'x' } as unknown as StreamEvent)).rejects.toThrow(/needs an event/);
    expect(() => events.on('message.*.new', () => {})).toThrow(/whole last segment/);
    expect(() => events.on([], () => {})).toThrow(/non-empty/);
  });
});
