import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createPendingHooks, createServer, type PendingHooks, type PendingHooksOptions } from '../../src/index.js';
import { streamSignature } from './sign-fixture.js';

export const appKey = 'test-key';
export const appSecret = 'test-secret-0123456789';

export interface RunningServer {
  url: string;
  hooks: PendingHooks;
  app: FastifyInstance;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A real listening pending-hooks server on 127.0.0.1 with a random port; logs captured. */
export async function startHooksServer(
  options: PendingHooksOptions = {},
  register?: (hooks: PendingHooks) => void,
): Promise<RunningServer> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger, ...options });
  register?.(hooks);
  const app = await createServer(hooks);
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: address, hooks, app, logs, close: () => app.close() };
}

/**
 * The server's own measured latency of a callback, from the arrival of its bytes to the decision
 * (the `latencyMs` of its `decision` log line, or of `msg`). Budget checks compare this, not the
 * client's wall clock, which also counts connecting, sending and a busy test machine.
 */
export function serverLatencyMs(server: RunningServer, messageId: string, msg = 'decision'): number {
  const line = server.logs.find((l) => l.messageId === messageId && l.msg === msg);
  if (typeof line?.latencyMs !== 'number') throw new Error(`no "${msg}" log line with latencyMs for message ${messageId}`);
  return line.latencyMs;
}

/** A bound for the client's wall clock around a budget: generous, the server's own latency is checked exactly. */
export const clientSlackMs = 1000;

export interface PostOptions {
  secret?: string | null;
  apiKey?: string | null;
  webhookId?: string;
  attempt?: number;
  contentType?: string;
  signature?: string;
  headers?: Record<string, string>;
  /** Bytes actually sent (e.g. gzip); the signature is still over `body` unless `signature` is given. */
  wire?: Uint8Array;
  method?: string;
}

/** POSTs a body signed the way Stream signs it (override any part to make it wrong). */
export async function postSigned(url: string, body: string | Uint8Array, options: PostOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json', ...options.headers };
  const secret = options.secret === undefined ? appSecret : options.secret;
  if (options.signature !== undefined) headers['x-signature'] = options.signature;
  else if (secret !== null) headers['x-signature'] = streamSignature(secret, body);
  const apiKey = options.apiKey === undefined ? appKey : options.apiKey;
  if (apiKey !== null) headers['x-api-key'] = apiKey;
  if (options.webhookId) headers['x-webhook-id'] = options.webhookId;
  if (options.attempt) headers['x-webhook-attempt'] = String(options.attempt);
  return fetch(url, { method: options.method ?? 'POST', headers, body: options.wire ?? body });
}

export function pendingBody(message: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    message: { id: `msg-${Math.random().toString(36).slice(2)}`, text: 'hello there', type: 'regular', cid: 'messaging:general', user: { id: 'u1', name: 'Ann' }, ...message },
    metadata: { source: 'test' },
    request_info: { type: 'client', ip: '10.0.0.1', user_agent: 'test', sdk: 'stream-chat-js' },
    ...extra,
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
