import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventWebhooks, type StreamEvent } from 'pending-hooks';
import { awsSnsUrlPolicy, createSnsEndpoint } from 'pending-hooks/deliveries';

const topicArn = 'arn:aws:sns:us-east-1:123456789012:stream-events';

/** Independent of src/: AWS's string to sign, built from its documentation's field lists. */
function stringToSign(message: Record<string, string>): string {
  const fields = message.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.filter((f) => message[f] !== undefined).map((f) => `${f}\n${message[f]}\n`).join('');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('the SNS subscription endpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  let privateKey = '';
  let otherKey = '';
  let certificate = '';
  const awsRequests: string[] = [];
  const aws = createServer((request, response) => {
    awsRequests.push(request.url ?? '');
    if (request.url === '/cert.pem') response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certificate);
    else if (request.url?.startsWith('/confirm')) response.writeHead(200).end('<ConfirmSubscriptionResponse/>');
    else response.writeHead(404).end();
  });
  let awsUrl = '';
  const seen: string[] = [];
  const events = createEventWebhooks({ logger: pino({ level: 'silent' }) });
  events.on('channel.*', (event: StreamEvent, { delivery }) => void seen.push(`${event.type}:${delivery.via}:${delivery.id}`));
  const endpointServer = createServer();
  let endpointUrl = '';

  beforeAll(async () => {
    // A locally made certificate stands in for AWS's (served by the fake AWS host below).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=sns.test'], { stdio: 'ignore' });
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(dir, 'other.pem')], { stdio: 'ignore' });
    privateKey = readFileSync(join(dir, 'key.pem'), 'utf8');
    otherKey = readFileSync(join(dir, 'other.pem'), 'utf8');
    certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
    awsUrl = await listen(aws);
    const endpoint = createSnsEndpoint({
      events,
      topicArns: [topicArn],
      isAllowedUrl: (url) => url.origin === awsUrl,
      ack: 'after-handlers',
      logger: pino({ level: 'silent' }),
    });
    endpointServer.on('request', endpoint.listener);
    endpointUrl = await listen(endpointServer);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([new Promise((r) => aws.close(r)), new Promise((r) => endpointServer.close(r))]);
  });

  function signed(fields: Record<string, string>, options: { version?: '1' | '2'; key?: string; certUrl?: string } = {}): string {
    const version = options.version ?? '2';
    const message: Record<string, string> = { MessageId: `sns-${Math.random().toString(36).slice(2)}`, TopicArn: topicArn, Timestamp: new Date().toISOString(), SignatureVersion: version, SigningCertURL: options.certUrl ?? `${awsUrl}/cert.pem`, ...fields };
    const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
    signer.update(stringToSign(message));
    return JSON.stringify({ ...message, Signature: signer.sign(options.key ?? privateKey, 'base64') });
  }
  const notification = (payload: string, extra: Record<string, string> = {}) => ({ Type: 'Notification', Message: payload, ...extra });
  const post = (body: string) => fetch(endpointUrl, { method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' }, body });

  it('dispatches notifications signed with SignatureVersion 1 and 2, plain and gzip', async () => {
    const payload = JSON.stringify({ type: 'channel.updated', cid: 'messaging:x', channel_id: 'x', channel_type: 'messaging' });
    const v1 = signed(notification(Buffer.from(payload).toString('base64'), { Subject: 'stream' }), { version: '1' });
    const v2 = signed(notification(gzipSync(payload).toString('base64')));
    expect((await post(v1)).status).toBe(200);
    expect((await post(v2)).status).toBe(200);
    expect(seen).toEqual([`channel.updated:sns:${JSON.parse(v1).MessageId}`, `channel.updated:sns:${JSON.parse(v2).MessageId}`]);
    expect(awsRequests.filter((u) => u === '/cert.pem')).toHaveLength(1); // cached
  });

  it('refuses a tampered message, a wrong key, an unknown topic, an unknown SignatureVersion and a certificate URL not allowed', async () => {
    const before = seen.length;
    const payload = Buffer.from(JSON.stringify({ type: 'channel.deleted' })).toString('base64');
    const tampered = JSON.parse(signed(notification(payload))) as Record<string, string>;
    tampered.Message = Buffer.from(JSON.stringify({ type: 'channel.created' })).toString('base64');
    const certRequests = awsRequests.length;
    const cases: [string, string][] = [
      [JSON.stringify(tampered), 'tampered'],
      [signed(notification(payload), { key: otherKey }), 'wrong key'],
      [signed(notification(payload, { TopicArn: 'arn:aws:sns:us-east-1:999999999999:theirs' })), 'unknown topic'],
      [signed(notification(payload), { certUrl: 'https://evil.example.com/cert.pem' }), 'certificate host not allowed'],
      [signed(notification(payload), { certUrl: `${awsUrl.replace('127.0.0.1', 'localhost')}/cert.pem` }), 'same server, other host name'],
    ];
    for (const [body, why] of cases) {
      const answer = await post(body);
      expect(answer.status, why).toBe(401);
      expect(answer.headers.get('connection'), why).toBe('close');
    }
    const v3 = JSON.parse(signed(notification(payload))) as Record<string, string>;
    v3.SignatureVersion = '3';
    expect((await post(JSON.stringify(v3))).status).toBe(401);
    expect(awsRequests.length).toBe(certRequests);
    expect(seen.length).toBe(before);
  });

  it('refuses malformed messages and payloads with 400', async () => {
    expect((await post('not json')).status).toBe(400);
    expect((await post(signed(notification('not base64!')))).status).toBe(400);
    expect((await post(signed(notification(gzipSync('{"type":"channel.x"}').subarray(0, 12).toString('base64'))))).status).toBe(400);
    expect((await fetch(endpointUrl)).status).toBe(405);
  });

  it('answers 500 (SNS retries) when the certificate cannot be fetched', async () => {
    const payload = Buffer.from(JSON.stringify({ type: 'channel.created' })).toString('base64');
    const missing = await post(signed(notification(payload), { certUrl: `${awsUrl}/gone.pem` }));
    expect(missing.status).toBe(500);
  });

  it('confirms a SubscriptionConfirmation by GETting its SubscribeURL, only on an allowed host', async () => {
    const confirmation = signed({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe…', Token: 'tok-1', SubscribeURL: `${awsUrl}/confirm?Token=tok-1` });
    expect((await post(confirmation)).status).toBe(200);
    expect(awsRequests).toContain('/confirm?Token=tok-1');
    const elsewhere = signed({ Type: 'SubscriptionConfirmation', Message: 'm', Token: 'tok-2', SubscribeURL: 'https://attacker.example.com/confirm?Token=tok-2' });
    expect((await post(elsewhere)).status).toBe(401);
    const unsigned = JSON.parse(confirmation) as Record<string, string>;
    unsigned.SubscribeURL = `${awsUrl}/confirm?Token=forged`;
    expect((await post(JSON.stringify(unsigned))).status).toBe(401);
    expect(awsRequests).not.toContain('/confirm?Token=forged');
  });

  it('by default fetches only from https://sns.<region>.amazonaws.com', () => {
    for (const url of ['https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem', 'https://sns.cn-north-1.amazonaws.com.cn/x.pem']) {
      expect(awsSnsUrlPolicy(new URL(url)), url).toBe(true);
    }
    for (const url of ['http://sns.us-east-1.amazonaws.com/x.pem', 'https://sns.us-east-1.amazonaws.com.evil.com/x.pem', 'https://evil.com/sns.us-east-1.amazonaws.com/x.pem', 'https://sns.us-east-1.amazonaws.com:8443/x.pem', 'https://a@sns.us-east-1.amazonaws.com/x.pem', 'https://s3.amazonaws.com/x.pem']) {
      expect(awsSnsUrlPolicy(new URL(url)), url).toBe(false);
    }
  });
});
