import { request } from 'undici';
import { readPassOnAnswer } from '../../src/emulator/callback-encoding.js';
import { benchApiKey } from './common.js';
import type { BenchPayloads } from './payloads.js';
import type { LoadTarget } from './load.js';
import { bodiesOf, type RowSpec } from './rows.js';
import type { ServerProcess } from './server-process.js';

/**
 * Before a row is loaded: a clean message must be committed, a blocklisted one deleted, and
 * (for rows that check signatures) a wrong signature refused with 401. A row that fails is
 * reported as failed instead of being measured.
 */
export async function probe(row: RowSpec, port: number, path: string, payloads: BenchPayloads): Promise<string | undefined> {
  const encoded = bodiesOf(row, payloads);
  const commitIndex = payloads.expected.indexOf('commit');
  const deleteIndex = payloads.expected.indexOf('delete');
  const send = async (index: number, signature: string, id: string) => {
    const response = await request(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { ...row.headers, 'x-signature': signature, 'x-api-key': benchApiKey, 'x-webhook-id': id },
      body: encoded.bodies[index]!,
    });
    return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: Buffer.from(await response.body.arrayBuffer()) };
  };
  for (const index of [commitIndex, deleteIndex]) {
    if (index < 0) continue;
    const want = payloads.expected[index]!;
    const answer = await send(index, encoded.signatures[index]!, `probe-${row.id}-${index}`);
    if (answer.status !== 200) return `probe: status ${answer.status} for a valid request: ${answer.body.toString('utf8').slice(0, 200)}`;
    const got = readPassOnAnswer(answer.body, answer.contentType);
    if (got === undefined) return `probe: unreadable answer (${answer.contentType}): ${answer.body.toString('utf8').slice(0, 200)}`;
    if (got.action !== want) return `probe: expected ${want}, answered ${got.action ?? 'no action'}`;
  }
  if (row.verifiesSignature) {
    const good = encoded.signatures[commitIndex]!;
    const bad = (good[0] === '0' ? '1' : '0') + good.slice(1);
    const answer = await send(commitIndex, bad, `probe-${row.id}-badsig`);
    if (answer.status !== 401) return `probe: a wrong signature got ${answer.status}, expected 401`;
  }
  return undefined;
}

/** The load target of a row's server: its route, headers and signed bodies. */
export function targetOf(row: RowSpec, port: number, payloads: BenchPayloads): LoadTarget {
  const encoded = bodiesOf(row, payloads);
  return { port, path: row.path, headers: row.headers, bodies: encoded.bodies, signatures: encoded.signatures };
}

/** The load target of a started row server, after its probe passed (throws otherwise). */
export async function probedTarget(row: RowSpec, server: Pick<ServerProcess, 'port'>, payloads: BenchPayloads): Promise<LoadTarget> {
  const problem = await probe(row, server.port, row.path, payloads);
  if (problem) throw new Error(problem);
  return targetOf(row, server.port, payloads);
}
