/**
 * Twirp's two encodings and the `Content-Type` values that select them
 * (https://twitchtv.github.io/twirp/docs/spec_v7.html#content-type). The response uses the
 * request's encoding; any other content type is a `bad_route`.
 */
export type TwirpEncoding = 'protobuf' | 'json';

export const twirpContentTypeProtobuf = 'application/protobuf';
export const twirpContentTypeJson = 'application/json';

/**
 * `type/subtype` then optional parameters. Types are case-insensitive (RFC 9110 §8.3.1);
 * whitespace around `;` and `=` is tolerated.
 */
const contentTypeRegExp = /^\s*application\/(protobuf|json)\s*(?:;(.*))?$/i;
const charsetRegExp = /(?:^|;)\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]*))\s*(?=;|$)/i;

/**
 * The encoding a `Content-Type` header selects, or undefined when Twirp does not serve it.
 * A `charset` parameter is accepted when it names UTF-8 (the only charset protobuf JSON has);
 * other parameters are ignored.
 */
export function parseTwirpContentType(value: string | undefined): TwirpEncoding | undefined {
  if (value === undefined) return undefined;
  // The exact values clients send: no regular expression (and no match array) per request.
  if (value === twirpContentTypeJson) return 'json';
  if (value === twirpContentTypeProtobuf) return 'protobuf';
  const match = contentTypeRegExp.exec(value);
  if (match === null) return undefined;
  const params = match[2];
  if (params !== undefined && params.trim() !== '') {
    const charset = charsetRegExp.exec(params);
    if (charset !== null) {
      const name = (charset[1] ?? charset[2] ?? '').toLowerCase();
      if (name !== 'utf-8' && name !== 'utf8') return undefined;
    }
  }
  return match[1]!.toLowerCase() === 'json' ? 'json' : 'protobuf';
}
