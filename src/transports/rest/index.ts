import type { TransportFamily, WireCodec } from '../codec.js';
import { isJsonContentType } from './content-type.js';
import { decodeRestBody } from './decode.js';
import { encodeRestAccepted, encodeRestDeleted, encodeRestError, encodeRestPassOn } from './encode.js';

const restCodec: WireCodec = {
  transport: 'rest',
  decode: decodeRestBody,
  encodePassOn: encodeRestPassOn,
  encodeAccepted: encodeRestAccepted,
  encodeDeleted: encodeRestDeleted,
  encodeError: encodeRestError,
};

/** Stream's CALLBACK_MODE_REST: JSON in, JSON out. */
export function createRestFamily(): TransportFamily {
  return {
    name: 'rest',
    codecFor: (contentType, method = 'POST') => (method === 'POST' && isJsonContentType(contentType) ? restCodec : undefined),
    encodeError: encodeRestError,
  };
}
