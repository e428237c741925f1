import { TwirpFetchTransport } from '@protobuf-ts/twirp-transport';
import { PendingMessageServiceClient } from './gen/pendingmessage/v1/pending_message.client.js';

/**
 * An independent Twirp client for tests: protobuf-ts generated code on
 * @protobuf-ts/twirp-transport, sharing nothing with the server's protobuf-es codec.
 * `baseUrl` includes the Twirp prefix (e.g. `http://127.0.0.1:3000/twirp`).
 * Headers such as `X-Signature` go in per-call `meta`
 * (`client.passOnPendingMessage(request, { meta: { 'x-signature': … } })`); note the
 * signature must cover the exact bytes the transport sends.
 */
export function createTwirpTestClient(
  baseUrl: string,
  options: { json?: boolean } = {},
): PendingMessageServiceClient {
  return new PendingMessageServiceClient(
    new TwirpFetchTransport({ baseUrl, sendJson: options.json ?? false }),
  );
}

export { PendingMessageServiceClient };
export {
  Action,
  DeletedPendingMessageResponse,
  Message,
  PendingMessageRequest,
  PendingMessageResponse,
  RequestInfo,
  User,
  Attachment,
} from './gen/pendingmessage/v1/pending_message.js';
export { Struct } from './gen/google/protobuf/struct.js';
