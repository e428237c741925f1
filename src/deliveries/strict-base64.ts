/** Each ASCII code's 6-bit value in the standard alphabet (RFC 4648 §4), -1 for anything else. */
const sextets = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((char, value) => (sextets[char.charCodeAt(0)] = value));

/**
 * Decodes canonical base64 (standard alphabet, `=` padding to a multiple of 4) in one pass, or
 * says why not. Node's own decoder skips whitespace and stray characters and ignores non-zero
 * trailing bits; accepting such text would let different strings stand for the same bytes.
 */
export function decodeStrictBase64(text: string): Buffer | string {
  const length = text.length;
  if (length === 0) return 'empty';
  if (length % 4 !== 0) return `length ${length} is not a multiple of 4`;
  const padding = text.charCodeAt(length - 1) !== 0x3d ? 0 : text.charCodeAt(length - 2) === 0x3d ? 2 : 1;
  const data = length - padding;
  for (let i = 0; i < data; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || sextets[code]! < 0) return `invalid character at offset ${i}`;
  }
  // The last data character's bits past the final byte must be zero (RFC 4648 §3.5).
  const last = sextets[text.charCodeAt(data - 1)]!;
  if ((padding === 1 && (last & 0x03) !== 0) || (padding === 2 && (last & 0x0f) !== 0)) return 'non-canonical encoding (trailing bits set)';
  return Buffer.from(text, 'base64');
}
