/**
 * What every benchmark contender shares: the app's key and secret, the one trivial handler
 * (commit unless the text has a blocklisted word), the routes, and how a server script is
 * started and announces itself. Servers are standalone scripts started by bench/run.ts:
 *
 *   node bench/out/servers-js/servers/<name>.js --port 0   → prints `READY <port>`
 *
 * (compiled from bench/servers/<name>.ts by bench/lib/server-process.ts `compileServers`)
 */

export const benchApiKey = 'bench-key';
export const benchSecret = 'bench-secret-4f1c9a7e2b8d6053';

/** REST route (pending-hooks' default mount is `''`). */
export const restPath = '/PassOnPendingMessage';
export const twirpService = 'pendingmessage.v1.PendingMessageService';
/** Twirp route with the default `/twirp` prefix (pending-hooks and twirp-ts alike). */
export const twirpPath = `/twirp/${twirpService}/PassOnPendingMessage`;
/** Connect unary route with pending-hooks' default `connect.prefix` (`/connect`). */
export const connectPath = `/connect/${twirpService}/PassOnPendingMessage`;

const blocklist = /\b(?:spam|scam|viagra)\b/i;

/** The trivial handler every contender runs. */
export function decideText(text: string | null | undefined): { action: 'commit' | 'delete'; reason?: string } {
  return text && blocklist.test(text) ? { action: 'delete', reason: 'blocklist' } : { action: 'commit' };
}

/** The REST answer, as pending-hooks writes it (`reason` omitted when empty). */
export function restAnswer(text: string | null | undefined): string {
  const decision = decideText(text);
  return decision.reason
    ? `{"action":"${decision.action}","reason":"${decision.reason}","timed_out":false}`
    : `{"action":"${decision.action}","timed_out":false}`;
}

/** `--port N` or `PORT`; 0 (any free port) by default. */
export function serverPort(): number {
  const index = process.argv.indexOf('--port');
  const raw = index >= 0 ? process.argv[index + 1] : process.env.PORT;
  const port = raw === undefined ? 0 : Number(raw);
  if (!Number.isInteger(port) || port < 0) throw new RangeError(`bad port ${raw}`);
  return port;
}

export const serverHost = '127.0.0.1';

/**
 * Tells bench/run.ts the server listens, and exits cleanly on SIGTERM/SIGINT so that
 * `node --cpu-prof` writes its profile (a signal death would not).
 */
export function announce(port: number): void {
  process.stdout.write(`READY ${port}\n`);
  const exit = () => process.exit(0);
  process.once('SIGTERM', exit);
  process.once('SIGINT', exit);
}
