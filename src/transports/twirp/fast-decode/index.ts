import type { DescMessage } from '@bufbuild/protobuf';
import type { HookError } from '../../../core/hook-error.js';
import type { DecodedPayload } from '../../../event/pending-message-event.js';
import { compileBinaryDecoder } from './binary.js';
import { compileJsonReader } from './json.js';
import { compileRequestPlan, type PlanUnsupported } from './plan.js';

/*
 * Fast Twirp request decoders compiled from the generated descriptors (see
 * `plan.ts`): the same payloads and the same error codes as protobuf-es followed by
 * `payloadFromRequest`, several times faster. `test/twirp-fast-decode.test.ts` fuzzes the
 * equivalence.
 */

export interface FastTwirpDecoders {
  /** Decodes an `application/protobuf` body. */
  readonly protobuf: (body: Uint8Array) => DecodedPayload | HookError;
  /**
   * Reads a parsed `application/json` body (a JSON object, not an array); may reuse parts of it.
   * `textHasEscapes: false` says the JSON text had no `\u` escape, so no string can hold a lone
   * surrogate and strings are not checked for them.
   */
  readonly json: (json: Record<string, unknown>, textHasEscapes?: boolean) => DecodedPayload | HookError;
}

export interface FastDecoderOptions {
  /** Recursion limit of the binary decoder (protobuf-es `recursionLimit`). */
  readonly binaryRecursionLimit: number;
  /** Recursion limit of the JSON reader (protobuf-es `recursionLimit`). */
  readonly jsonRecursionLimit: number;
}

/**
 * Compiles the decoders of a request schema shaped like `PendingMessageRequest`, or returns the
 * reason it cannot (a descriptor feature outside the compiled subset): callers then use
 * protobuf-es.
 */
export function compileFastTwirpDecoders(
  schema: DescMessage,
  options: FastDecoderOptions,
): FastTwirpDecoders | PlanUnsupported {
  const plan = compileRequestPlan(schema);
  if ('unsupported' in plan) return plan;
  return {
    protobuf: compileBinaryDecoder(plan, options.binaryRecursionLimit),
    json: compileJsonReader(plan, options.jsonRecursionLimit),
  };
}
