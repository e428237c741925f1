import { fromBinary } from '@bufbuild/protobuf';
import { request } from 'undici';
import { PendingMessageResponseSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { actionFromProto } from '../../src/transports/twirp/message-convert.js';
import { benchApiKey } from './common.js';
import type { BenchPayloads } from './payloads.js';
import type { LoadTarget } from './load.js';
import { answerClassifier, bodiesOf, type AnswerFormat, type RowSpec } from './rows.js';
import type { ServerProcess } from './server-process.js';

function decodeAction(format: AnswerFormat, body: Buffer): string | undefined {
  if (format === 'protobuf') return actionFromProto(fromBinary(PendingMessageResponseSchema, body).action);
  const parsed = JSON.parse(body.toString('utf8')) as { action?: string };
  if (format === 'twirp-json') return parsed.action?.replace(/^ACTION_/, '').toLowerCase();
  return parsed.action;
}

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
    return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
  };
  for (const index of [commitIndex, deleteIndex]) {
    if (index < 0) continue;
    const want = payloads.expected[index]!;
    const answer = await send(index, encoded.signatures[index]!, `probe-${row.id}-${index}`);
    if (answer.status !== 200) return `probe: status ${answer.status} for a valid request: ${answer.body.toString('utf8').slice(0, 200)}`;
    let got: string | undefined;
    try {
      got = decodeAction(row.answer, answer.body);
    } catch (error) {
      return `probe: unreadable answer (${(error as Error).message})`;
    }
    if (got !== want) return `probe: expected ${want}, answered ${got}`;
  }
  if (row.verifiesSignature) {
    const good = encoded.signatures[commitIndex]!;
    const bad = (good[0] === '0' ? '1' : '0') + good.slice(1);
    const answer = await send(commitIndex, bad, `probe-${row.id}-badsig`);
    if (answer.status !== 401) return `probe: a wrong signature got ${answer.status}, expected 401`;
  }
  return undefined;
}

/**
 * The load target of a started row server, after its probe passed (throws otherwise): the
 * path (Connect rows announce theirs), the row's signed bodies and its answer classifier.
 */
export async function probedTarget(row: RowSpec, server: Pick<ServerProcess, 'port' | 'announced'>, payloads: BenchPayloads): Promise<LoadTarget> {
  const path = row.path === 'connect' ? server.announced.CONNECT : row.path;
  if (!path || path.startsWith('n/a')) throw new Error(`no path for ${row.id}: ${path}`);
  const problem = await probe(row, server.port, path, payloads);
  if (problem) throw new Error(problem);
  const encoded = bodiesOf(row, payloads);
  return { port: server.port, path, headers: row.headers, bodies: encoded.bodies, signatures: encoded.signatures, classify: answerClassifier(row.answer) };
}
