import { createHmac } from 'node:crypto';
import { toBinary, toJsonString } from '@bufbuild/protobuf';
import { sampleMessage, samplePayload } from '../../src/emulator/sample-messages.js';
import { PendingMessageRequestSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { pendingMessageRequestFromBody } from '../../src/transports/twirp/message-convert.js';
import { benchSecret, decideText } from './common.js';

/** One encoding of every payload, each body signed the way Stream signs (hex HMAC-SHA256). */
export interface EncodedBodies {
  readonly bodies: readonly Buffer[];
  readonly signatures: readonly string[];
  readonly averageBytes: number;
}

/** The same callbacks in every encoding the contenders serve, and the decision each should get. */
export interface BenchPayloads {
  readonly count: number;
  /** REST JSON (`{message, metadata, request_info}`), as Stream posts it. */
  readonly rest: EncodedBodies;
  /** Twirp/Connect protobuf: `toBinary(pendingMessageRequestFromBody(body))`. */
  readonly protobuf: EncodedBodies;
  /** Twirp protobuf JSON with proto field names. */
  readonly twirpJson: EncodedBodies;
  /** `delete` when the text has a blocklisted word, else `commit`. */
  readonly expected: readonly ('commit' | 'delete')[];
}

function signAll(bodies: Buffer[]): EncodedBodies {
  const signatures = bodies.map((body) => createHmac('sha256', benchSecret).update(body).digest('hex'));
  const total = bodies.reduce((sum, body) => sum + body.length, 0);
  return { bodies, signatures, averageBytes: Math.round(total / bodies.length) };
}

/**
 * `count` varied, realistic callbacks (the emulator's sampleMessage/samplePayload, seeded:
 * every run sends the same bytes), ~1.7 KB each as REST JSON.
 */
export function buildPayloads(count = 2000): BenchPayloads {
  const rest: Buffer[] = [];
  const protobuf: Buffer[] = [];
  const twirpJson: Buffer[] = [];
  const expected: ('commit' | 'delete')[] = [];
  for (let i = 0; i < count; i++) {
    const payload = samplePayload(sampleMessage({}, `bench:${i}`));
    rest.push(Buffer.from(JSON.stringify(payload), 'utf8'));
    const request = pendingMessageRequestFromBody(payload);
    const binary = toBinary(PendingMessageRequestSchema, request);
    protobuf.push(Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength));
    twirpJson.push(Buffer.from(toJsonString(PendingMessageRequestSchema, request, { useProtoFieldName: true }), 'utf8'));
    expected.push(decideText(payload.message.text).action);
  }
  return { count, rest: signAll(rest), protobuf: signAll(protobuf), twirpJson: signAll(twirpJson), expected };
}
