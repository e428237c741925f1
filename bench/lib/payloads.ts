import { encodeCallback, signCallbackBody } from '../../src/emulator/callback-encoding.js';
import { sampleMessage, samplePayload } from '../../src/emulator/sample-messages.js';
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
  /** Twirp/Connect protobuf (the emulator's `twirp-protobuf` encoding). */
  readonly protobuf: EncodedBodies;
  /** Twirp protobuf JSON with proto field names. */
  readonly twirpJson: EncodedBodies;
  /** `delete` when the text has a blocklisted word, else `commit`. */
  readonly expected: readonly ('commit' | 'delete')[];
}

function signAll(bodies: Buffer[]): EncodedBodies {
  const signatures = bodies.map((body) => signCallbackBody(body, benchSecret));
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
    rest.push(encodeCallback('rest', payload).body);
    protobuf.push(encodeCallback('twirp-protobuf', payload).body);
    twirpJson.push(encodeCallback('twirp-json', payload).body);
    expected.push(decideText(payload.message.text).action);
  }
  return { count, rest: signAll(rest), protobuf: signAll(protobuf), twirpJson: signAll(twirpJson), expected };
}
