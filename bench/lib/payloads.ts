import { callbackModes, encodeCallback, signCallbackBody, type CallbackMode } from '../../src/emulator/callback-encoding.js';
import { sampleMessage, samplePayload } from '../../src/emulator/sample-messages.js';
import { benchSecret, decideText } from './common.js';

/** One encoding of every payload, each body signed the way Stream signs (hex HMAC-SHA256). */
export interface EncodedBodies {
  readonly bodies: readonly Buffer[];
  readonly signatures: readonly string[];
  readonly averageBytes: number;
}

/**
 * The same callbacks in every mode the contenders serve (keyed like `--mode`: `rest`,
 * `twirp-protobuf` — also the Connect row's bodies —, `twirp-json`), and the decision each should get.
 */
export type BenchPayloads = Readonly<Record<CallbackMode, EncodedBodies>> & {
  readonly count: number;
  /** `delete` when the text has a blocklisted word, else `commit`. */
  readonly expected: readonly ('commit' | 'delete')[];
};

function signAll(bodies: Buffer[]): EncodedBodies {
  const signatures = bodies.map((body) => signCallbackBody(body, benchSecret));
  const total = bodies.reduce((sum, body) => sum + body.length, 0);
  return { bodies, signatures, averageBytes: Math.round(total / bodies.length) };
}

/**
 * `count` varied, realistic callbacks (the emulator's sampleMessage/samplePayload, seeded:
 * every run sends the same bytes), ~1.7 KB each as REST JSON, encoded by the emulator's encoder.
 */
export function buildPayloads(count = 2000): BenchPayloads {
  const payloads = Array.from({ length: count }, (_, i) => samplePayload(sampleMessage({}, `bench:${i}`)));
  const byMode = Object.fromEntries(callbackModes.map((mode) => [mode, signAll(payloads.map((payload) => encodeCallback(mode, payload).body))])) as Record<CallbackMode, EncodedBodies>;
  return { ...byMode, count, expected: payloads.map((payload) => decideText(payload.message.text).action) };
}
