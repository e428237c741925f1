import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import { sleep } from '../core/deadline.js';
import { neverAborted } from './callback-sender.js';
import type { PendingMessage } from '../event/message-schema.js';
import { hooksAfterUpdate } from '../hooks-config/hooks-after-update.js';

/**
 * An emulator of Stream's server API, enough for pending messages: commit, hard delete, and the
 * app's `event_hooks`. A real fastify server on a real port, with Stream's auth rules, Stream-style
 * error bodies, per-message state for exactly-once assertions, and injectable faults.
 */

/** One Stream app the mock accepts. */
export interface MockApp {
  apiKey: string;
  secret: string;
}

/** Options of {@link createMockStreamApi}. */
export interface MockStreamApiOptions {
  apps: MockApp[];
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** fastify's logger. Default false. */
  logger?: boolean;
  /** Called on every state change of a message (commit, delete, expiry). */
  onStateChange?: (messageId: string, state: MessageState, apiKey: string | undefined) => void;
}

/** Where a message is in its life. `expired`: still pending when its `timeoutMs` ran out (Stream deleted it). */
export type MessageState = 'pending' | 'committed' | 'deleted' | 'expired';

/** What a request asked for. */
export type MockAction = 'commit' | 'delete' | 'get_app' | 'patch_app';

/** One request the mock answered (or dropped: status 0). */
export interface MockCall {
  action: MockAction;
  messageId?: string;
  apiKey?: string;
  /** The `X-Stream-Client` header, when sent. */
  client?: string;
  /** HTTP status answered; 0 when the socket was destroyed by an injected network error. */
  status: number;
  /** True when an injected fault answered (or dropped) the request. */
  injected?: boolean;
  /** `Date.now()` when the request arrived. */
  at: number;
}

/** A fault to inject into the next matching requests. */
export interface MockFault {
  /** Which requests; default any commit or delete. */
  action?: MockAction;
  /** Answer this status with a Stream-style error body (e.g. 500, 429, 503). */
  status?: number;
  /** How many matching requests the fault applies to (`Infinity` for a standing fault, typically with `share`). */
  count: number;
  /**
   * The probability (0–1) that a matching request gets the fault; default 1. A request that
   * escapes it goes on to the next matching fault, or is answered normally.
   */
  share?: number;
  /** The random source for `share` (default `Math.random`); pass a seeded one for repeatable runs. */
  random?: () => number;
  /** Wait this long first (with no `status`/`networkError`, then answer normally). */
  delayMs?: number;
  /** Destroy the socket instead of answering. */
  networkError?: boolean;
  /** `Retry-After` seconds sent with the status (typically with 429). */
  retryAfterSec?: number;
}

/** An event hook as stored in app settings (see REFERENCE section 3). */
export interface EventHook {
  id: string;
  hook_type: 'webhook' | 'sqs' | 'sns' | 'pending_message';
  enabled?: boolean;
  event_types?: string[];
  webhook_url?: string;
  timeout_ms?: number;
  callback?: { mode: 'CALLBACK_MODE_NONE' | 'CALLBACK_MODE_REST' | 'CALLBACK_MODE_TWIRP' };
  [field: string]: unknown;
}

/** Options of `addPendingMessage`. */
export interface AddPendingMessageOptions {
  /** The message expires (Stream deletes it) when still pending after this long. */
  timeoutMs?: number;
  /** The app the message belongs to; default: any app may act on it. */
  apiKey?: string;
}

/** A running mock of Stream's API. */
export interface MockStreamApi {
  /** Base URL, e.g. `http://127.0.0.1:40123` (use as the client's `baseUrl`). */
  readonly url: string;
  /** Every request answered, in order. */
  readonly calls: readonly MockCall[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  readonly connectionCount: number;
  /** Registers a pending message. Re-adding an id resets it to pending. */
  addPendingMessage(message: Partial<PendingMessage> & { id: string }, options?: AddPendingMessageOptions): void;
  stateOf(messageId: string): MessageState | undefined;
  /** Successful commits plus deletes applied to the message (1 when exactly once). */
  commitCount(messageId: string): number;
  /** Adds a listener of state changes (as the `onStateChange` option); returns its removal. */
  addStateListener(listener: (messageId: string, state: MessageState, apiKey: string | undefined) => void): () => void;
  /** Resolves when the message reaches `state`; rejects after `timeoutMs`. */
  waitForState(messageId: string, state: MessageState, timeoutMs: number): Promise<void>;
  /**
   * Queues faults; each matching request consumes one count of the first matching fault.
   * Returns a function that withdraws what is left of this fault.
   */
  injectFaults(fault: MockFault): () => void;
  /** The app's current event hooks (the first app's when no key is given). */
  eventHooks(apiKey?: string): EventHook[];
  /** Forgets messages, calls, faults and event hooks. */
  reset(): void;
  close(): Promise<void>;
}

interface StoredMessage {
  message: Partial<PendingMessage> & { id: string };
  state: MessageState;
  applied: number;
  apiKey: string | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Waiter {
  state: MessageState;
  resolve: () => void;
}

const moreInfo = 'https://getstream.io/chat/docs/api_errors_response';

/**
 * A Stream-style error body: `{code, message, StatusCode, duration, more_info}`, the message
 * worded like Stream's (`<Endpoint> failed with error: "<detail>"`).
 */
export function streamErrorBody(status: number, code: number, endpoint: string, detail: string) {
  return {
    code,
    message: `${endpoint} failed with error: "${detail}"`,
    StatusCode: status,
    duration: '0.00ms',
    more_info: moreInfo,
  };
}

/** The error a second commit of a message gets (Stream: "the message is no longer pending"). */
export function notPendingErrorBody(messageId: string) {
  return streamErrorBody(400, 4, 'CommitMessage', `message ${messageId} is not pending`);
}

class MockHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ReturnType<typeof streamErrorBody>,
  ) {
    super(body.message);
  }
}

const endpointOf: Record<MockAction, string> = {
  commit: 'CommitMessage',
  delete: 'DeleteMessage',
  get_app: 'GetApp',
  patch_app: 'UpdateApp',
};

/**
 * Starts a mock of Stream's API on a real port.
 *
 * Routes: `POST /messages/:id/commit`, `DELETE /messages/:id` (`hard=true` needed for a pending
 * message), `GET /app`, `PATCH /app` (`event_hooks`, with `explicit_event_hooks_deletion`).
 * Auth as Stream: `api_key` query parameter of a known app, `Authorization` an HS256 JWT with
 * `server: true` signed with that app's secret, `Stream-Auth-Type: jwt`; otherwise 401.
 */
export async function createMockStreamApi(options: MockStreamApiOptions): Promise<MockStreamApi> {
  if (options.apps.length === 0) throw new TypeError('createMockStreamApi: at least one app is required');
  const secrets = new Map(options.apps.map((app) => [app.apiKey, new TextEncoder().encode(app.secret)]));
  const firstKey = options.apps[0]!.apiKey;
  const verifiedTokens = new Map<string, string>(); // token → api key it was verified for
  const messages = new Map<string, StoredMessage>();
  const waiters = new Map<string, Waiter[]>();
  const hooks = new Map<string, EventHook[]>(options.apps.map((app) => [app.apiKey, []]));
  const calls: MockCall[] = [];
  const faults: MockFault[] = [];
  const stateListeners = new Set<(messageId: string, state: MessageState, apiKey: string | undefined) => void>();
  const sockets = new Set<Socket>();
  let connectionCount = 0;

  // Stream's message ids run to 255 characters (fastify's router stops at 100 by default).
  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true, routerOptions: { maxParamLength: 1024 } });
  app.server.on('connection', (socket: Socket) => {
    connectionCount++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  // Stream's SDKs send POSTs with no body and sometimes no content type: accept anything.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, { __invalid_json: true });
    }
  });

  function setState(stored: StoredMessage, state: MessageState) {
    stored.state = state;
    if (state !== 'pending' && stored.timer !== undefined) {
      clearTimeout(stored.timer);
      stored.timer = undefined;
    }
    const list = waiters.get(stored.message.id);
    if (list !== undefined) {
      const remaining = list.filter((waiter) => {
        if (waiter.state !== state) return true;
        waiter.resolve();
        return false;
      });
      if (remaining.length === 0) waiters.delete(stored.message.id);
      else waiters.set(stored.message.id, remaining);
    }
    options.onStateChange?.(stored.message.id, state, stored.apiKey);
    for (const listener of [...stateListeners]) listener(stored.message.id, state, stored.apiKey);
  }

  async function authenticate(request: FastifyRequest, action: MockAction): Promise<string> {
    const endpoint = endpointOf[action];
    const query = request.query as Record<string, unknown>;
    const apiKey = typeof query.api_key === 'string' ? query.api_key : undefined;
    if (apiKey === undefined || apiKey === '') {
      throw new MockHttpError(401, streamErrorBody(401, 2, endpoint, 'api_key is missing'));
    }
    const secret = secrets.get(apiKey);
    if (secret === undefined) {
      throw new MockHttpError(401, streamErrorBody(401, 2, endpoint, `api_key ${apiKey} not valid`));
    }
    const authType = request.headers['stream-auth-type'];
    if (authType !== 'jwt') {
      throw new MockHttpError(401, streamErrorBody(401, 5, endpoint, 'Stream-Auth-Type header must be "jwt"'));
    }
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? header.replace(/^Bearer\s+/i, '').trim() : '';
    if (token === '') {
      throw new MockHttpError(401, streamErrorBody(401, 5, endpoint, 'Authorization header is missing'));
    }
    if (verifiedTokens.get(token) === apiKey) return apiKey;
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
      if (payload.server !== true) {
        throw new MockHttpError(
          401,
          streamErrorBody(401, 5, endpoint, 'this endpoint needs a server-side token ({"server": true})'),
        );
      }
    } catch (error) {
      if (error instanceof MockHttpError) throw error;
      throw new MockHttpError(
        401,
        streamErrorBody(
          401,
          43,
          endpoint,
          `JWTAuth error: signature is not valid. Make sure the token is created using the secret for API key "${apiKey}"`,
        ),
      );
    }
    verifiedTokens.set(token, apiKey);
    return apiKey;
  }

  /** Applies the first fault matching `action`; true when the request was answered by it. */
  async function applyFault(action: MockAction, request: FastifyRequest, reply: FastifyReply, call: MockCall) {
    const index = faults.findIndex(
      (fault) =>
        (fault.action === undefined ? action === 'commit' || action === 'delete' : fault.action === action) &&
        (fault.share === undefined || fault.share >= 1 || (fault.random ?? Math.random)() < fault.share),
    );
    if (index < 0) return false;
    const fault = faults[index]!;
    fault.count--;
    if (fault.count <= 0) faults.splice(index, 1);
    if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs, neverAborted);
    if (fault.networkError) {
      call.status = 0;
      call.injected = true;
      calls.push(call);
      reply.hijack();
      request.raw.socket.destroy();
      return true;
    }
    if (fault.status === undefined) return false;
    call.status = fault.status;
    call.injected = true;
    calls.push(call);
    if (fault.retryAfterSec !== undefined) void reply.header('retry-after', String(fault.retryAfterSec));
    const code = fault.status === 429 ? 9 : fault.status >= 500 ? -1 : 4;
    await reply.code(fault.status).send(streamErrorBody(fault.status, code, endpointOf[action], `injected fault ${fault.status}`));
    return true;
  }

  /** Runs one route: faults, then auth, then the handler; records the call. */
  function route(
    action: MockAction,
    handler: (request: FastifyRequest, apiKey: string, call: MockCall) => { status: number; body: unknown },
  ) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const params = request.params as { id?: string };
      const call: MockCall = { action, status: 0, at: Date.now() };
      if (params.id !== undefined) call.messageId = params.id;
      const client = request.headers['x-stream-client'];
      if (typeof client === 'string') call.client = client;
      if (await applyFault(action, request, reply, call)) return reply;
      try {
        const apiKey = await authenticate(request, action);
        call.apiKey = apiKey;
        const { status, body } = handler(request, apiKey, call);
        call.status = status;
        calls.push(call);
        return reply.code(status).send(body);
      } catch (error) {
        if (!(error instanceof MockHttpError)) throw error;
        call.status = error.status;
        calls.push(call);
        return reply.code(error.status).send(error.body);
      }
    };
  }

  function findMessage(id: string, apiKey: string, endpoint: string): StoredMessage {
    const stored = messages.get(id);
    if (
      stored === undefined ||
      stored.state === 'deleted' ||
      stored.state === 'expired' ||
      (stored.apiKey !== undefined && stored.apiKey !== apiKey)
    ) {
      throw new MockHttpError(404, streamErrorBody(404, 16, endpoint, `message with id ${id} doesn't exist`));
    }
    return stored;
  }

  app.post('/messages/:id/commit', route('commit', (request, apiKey) => {
    const { id } = request.params as { id: string };
    const stored = findMessage(id, apiKey, 'CommitMessage');
    if (stored.state !== 'pending') throw new MockHttpError(400, notPendingErrorBody(id));
    stored.applied++;
    setState(stored, 'committed');
    return { status: 201, body: { message: { ...stored.message }, duration: duration() } };
  }));

  app.delete('/messages/:id', route('delete', (request, apiKey) => {
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const hard = query.hard === 'true' || query.hard === '1';
    const stored = findMessage(id, apiKey, 'DeleteMessage');
    if (!hard && stored.state === 'pending') {
      throw new MockHttpError(
        400,
        streamErrorBody(400, 4, 'DeleteMessage', 'pending messages can only be hard deleted, set hard=true'),
      );
    }
    stored.applied++;
    const deletedAt = new Date().toISOString();
    setState(stored, 'deleted');
    return {
      status: 200,
      body: { message: { ...stored.message, type: 'deleted', deleted_at: deletedAt }, duration: duration() },
    };
  }));

  app.get('/app', route('get_app', (_request, apiKey) => ({
    status: 200,
    body: {
      app: {
        name: `mock-${apiKey}`,
        organization: 'pending-hooks emulator',
        disable_auth_checks: false,
        disable_permissions_checks: false,
        webhook_url: '',
        event_hooks: structuredClone(hooks.get(apiKey) ?? []),
      },
      duration: duration(),
    },
  })));

  app.patch('/app', route('patch_app', (request, apiKey) => {
    const body = request.body as Record<string, unknown> | undefined;
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body) || '__invalid_json' in body) {
      throw new MockHttpError(400, streamErrorBody(400, 4, 'UpdateApp', 'invalid JSON body'));
    }
    if (body.event_hooks !== undefined) {
      const next = updateEventHooks(hooks.get(apiKey) ?? [], body.event_hooks, body.explicit_event_hooks_deletion === true);
      hooks.set(apiKey, next);
    }
    return { status: 201, body: { duration: duration() } };
  }));

  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(streamErrorBody(404, 16, 'Mock', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const url = address.replace('[::1]', '127.0.0.1');

  function clearMessages() {
    for (const stored of messages.values()) if (stored.timer !== undefined) clearTimeout(stored.timer);
    messages.clear();
  }

  return {
    url,
    calls,
    get connectionCount() {
      return connectionCount;
    },
    addPendingMessage(message, addOptions = {}) {
      const previous = messages.get(message.id);
      if (previous?.timer !== undefined) clearTimeout(previous.timer);
      const stored: StoredMessage = {
        message: { ...message },
        state: 'pending',
        applied: 0,
        apiKey: addOptions.apiKey,
        timer: undefined,
      };
      if (addOptions.timeoutMs !== undefined) {
        stored.timer = setTimeout(() => {
          stored.timer = undefined;
          if (stored.state === 'pending' && messages.get(message.id) === stored) setState(stored, 'expired');
        }, addOptions.timeoutMs);
        stored.timer.unref();
      }
      messages.set(message.id, stored);
    },
    stateOf: (messageId) => messages.get(messageId)?.state,
    commitCount: (messageId) => messages.get(messageId)?.applied ?? 0,
    addStateListener(listener) {
      stateListeners.add(listener);
      return () => void stateListeners.delete(listener);
    },
    waitForState(messageId, state, timeoutMs) {
      if (messages.get(messageId)?.state === state) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const list = waiters.get(messageId) ?? [];
          waiters.set(messageId, list.filter((w) => w !== waiter));
          reject(
            new Error(`waitForState: ${messageId} did not become ${state} within ${timeoutMs} ms (it is ${messages.get(messageId)?.state ?? 'unknown'})`),
          );
        }, timeoutMs);
        const waiter: Waiter = {
          state,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.set(messageId, [...(waiters.get(messageId) ?? []), waiter]);
      });
    },
    injectFaults(fault) {
      if (!(fault.count > 0)) return () => {};
      const queued = { ...fault };
      faults.push(queued);
      return () => {
        const at = faults.indexOf(queued);
        if (at >= 0) faults.splice(at, 1);
      };
    },
    eventHooks: (apiKey = firstKey) => structuredClone(hooks.get(apiKey) ?? []),
    reset() {
      clearMessages();
      calls.length = 0;
      faults.length = 0;
      for (const key of hooks.keys()) hooks.set(key, []);
    },
    async close() {
      clearMessages();
      await app.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Applies a `PATCH /app` `event_hooks` update as Stream does (see `hooksAfterUpdate`): without
 * explicit deletion the list replaces the current one (a hook left out is deleted); with
 * `explicit_event_hooks_deletion: true`, hooks with `delete: true` are removed by id and the
 * others upserted by id. Checked by the same validation as `pending-hooks hooks validate`: an
 * update with any error is refused whole (400, every error in the message). Empty ids are
 * generated; `created_at` is kept across updates, `updated_at` set on every stored change.
 */
export function updateEventHooks(current: readonly EventHook[], input: unknown, explicitDeletion: boolean): EventHook[] {
  const result = hooksAfterUpdate(current, { event_hooks: input, explicit_event_hooks_deletion: explicitDeletion });
  if (!result.ok) {
    const errors = result.problems.filter((problem) => problem.severity === 'error');
    throw badHooks(errors.map((problem) => `${problem.path}: ${problem.message}`).join('; '));
  }
  const now = new Date().toISOString();
  const stored = new Set<unknown>(current);
  const createdAt = new Map(current.map((hook) => [hook.id, hook.created_at]));
  return result.hooks.map((hook) => {
    if (stored.has(hook)) return hook as EventHook;
    const id = typeof hook.id === 'string' && hook.id !== '' ? hook.id : randomUUID();
    const { created_at: _created, updated_at: _updated, ...fields } = hook;
    return { ...fields, id, created_at: createdAt.get(id) ?? now, updated_at: now } as unknown as EventHook;
  });
}

function badHooks(detail: string) {
  return new MockHttpError(400, streamErrorBody(400, 4, 'UpdateApp', detail));
}

function duration() {
  return `${(Math.random() * 3 + 0.2).toFixed(2)}ms`;
}

