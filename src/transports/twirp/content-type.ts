/**
 * Twirp's two encodings and the `Content-Type` values that select them
 * (https://twitchtv.github.io/twirp/docs/spec_v7.html#content-type). The response uses the
 * request's encoding; any other content type is a `bad_route`.
 */
export type TwirpEncoding = 'protobuf' | 'json';

export const twirpContentTypeProtobuf = 'application/protobuf';
export const twirpContentTypeJson = 'application/json';

/**
 * The encoding a `Content-Type` header selects, or undefined when Twirp does not serve it.
 * Types are case-insensitive (RFC 9110 §8.3.1); whitespace around `;` and `=` is tolerated.
 * A `charset` parameter is accepted when it names UTF-8 (the only charset protobuf JSON has);
 * other parameters are ignored.
 *
 * Written as index scans, not a regular expression: the header is the attacker's, read before
 * the signature, and the pattern this replaces backtracked quadratically on long parameters.
 * Every character is looked at a bounded number of times.
 */
export function parseTwirpContentType(value: string | undefined): TwirpEncoding | undefined {
  if (value === undefined) return undefined;
  // The exact values clients send: no scanning per request.
  if (value === twirpContentTypeJson) return 'json';
  if (value === twirpContentTypeProtobuf) return 'protobuf';
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  let encoding: TwirpEncoding;
  if (type === twirpContentTypeJson) encoding = 'json';
  else if (type === twirpContentTypeProtobuf) encoding = 'protobuf';
  else return undefined;
  if (semicolon !== -1 && !charsetIsUtf8(value, semicolon + 1)) return undefined;
  return encoding;
}

/** False only when a `charset` parameter names something other than UTF-8. */
function charsetIsUtf8(value: string, from: number): boolean {
  let start = from;
  while (start <= value.length) {
    let end = value.indexOf(';', start);
    if (end === -1) end = value.length;
    // Each parameter is sliced once, so the `=` search never runs past its own `;`.
    const parameter = value.slice(start, end);
    const equals = parameter.indexOf('=');
    if (equals !== -1 && parameter.slice(0, equals).trim().toLowerCase() === 'charset') {
      let name = parameter.slice(equals + 1).trim();
      if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
      name = name.toLowerCase();
      return name === 'utf-8' || name === 'utf8';
    }
    start = end + 1;
  }
  return true;
}
