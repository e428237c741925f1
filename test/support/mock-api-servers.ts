import { afterAll, afterEach, beforeAll } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../../src/emulator/index.js';
import type { PendingHooks, PendingHooksOptions } from '../../src/index.js';
import { appKey, appSecret, pendingBody, startHooksServer, type RunningServer } from './servers.js';

/**
 * A mock Stream API for the file (reset after each test) and servers deciding through it
 * (closed after each test), with fast retries. Call once at the top of a test file.
 */
export function mockApiServers(idPrefix: string) {
  let mock: MockStreamApi | undefined;
  const servers: RunningServer[] = [];
  let counter = 0;
  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
  });
  afterAll(() => mock?.close());
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    mock?.reset();
  });
  return {
    get mock(): MockStreamApi {
      if (!mock) throw new Error('the mock Stream API starts in beforeAll');
      return mock;
    },
    async server(options: PendingHooksOptions, register: (hooks: PendingHooks) => void): Promise<RunningServer> {
      const s = await startHooksServer({ api: { baseUrl: this.mock.url }, retry: { baseBackoffMs: 5, maxBackoffMs: 20 }, ...options }, register);
      servers.push(s);
      return s;
    },
    /** A message pending at the mock, and the callback body for it. */
    pending(text = 'hello'): { id: string; body: string } {
      const id = `${idPrefix}-${++counter}-${Date.now()}`;
      this.mock.addPendingMessage({ id, text });
      return { id, body: pendingBody({ id, text }) };
    },
  };
}
