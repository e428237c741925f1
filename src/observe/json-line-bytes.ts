/**
 * The fields of one JSON log line, written straight into the line's bytes: `,"key":value` each,
 * in call order, exactly as `JSON.stringify` would write the value.
 */
export interface LineFields {
  string(key: string, value: string): void;
  number(key: string, value: number): void;
  boolean(key: string, value: boolean): void;
}

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const minus = 0x2d;
const dot = 0x2e;
const zero = 0x30;

/**
 * Log lines as UTF-8 bytes in one growing buffer, written field by field: no string is built
 * for a line, no lines are joined, nothing is encoded twice. Keys must be plain ASCII without
 * quotes or backslashes (they are the caller's constants); values are escaped as JSON requires.
 *
 * Why bytes: a decision line built as a string (a template of ~30 pieces, three
 * `JSON.stringify`s, the time and two doubles formatted), kept in an array, then flattened,
 * joined and encoded per batch, cost ~6% of the server's CPU per callback more at 4,000
 * callbacks/s, where each line is built on cold caches (bench/RESULTS.md, "The decision line
 * held the parsed message until it was built").
 */
export class JsonLineBytes implements LineFields {
  private bytes: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly initialSize = 64 * 1024) {
    this.bytes = Buffer.allocUnsafeSlow(initialSize);
  }

  /** The bytes written, as a view of the buffer: valid until the next write (`clear` alone leaves it intact). */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  /** Starts over; a buffer grown for an outsized line is let go (a view taken before stays valid). */
  clear(): void {
    this.length = 0;
    if (this.bytes.length > 16 * this.initialSize) this.bytes = Buffer.allocUnsafeSlow(this.initialSize);
  }

  /** Room for `count` more bytes. */
  private reserve(count: number): void {
    if (this.length + count <= this.bytes.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + count));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** Any text as UTF-8 (a whole line pino made, say). */
  text(value: string): void {
    this.reserve(value.length * 3);
    this.length += this.bytes.write(value, this.length, 'utf8');
  }

  /** Bytes already encoded (a logger's bindings, say). */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /** Plain ASCII the caller vouches for (no quotes, backslashes or control characters). */
  ascii(value: string): void {
    this.reserve(value.length);
    const bytes = this.bytes;
    let at = this.length;
    for (let i = 0; i < value.length; i++) bytes[at++] = value.charCodeAt(i);
    this.length = at;
  }

  private key(key: string): void {
    // , " key " :  — the key's length plus four.
    this.reserve(key.length + 4);
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = comma;
    bytes[at++] = quote;
    for (let i = 0; i < key.length; i++) bytes[at++] = key.charCodeAt(i);
    bytes[at++] = quote;
    bytes[at++] = colon;
    this.length = at;
  }

  string(key: string, value: string): void {
    this.key(key);
    this.reserve(value.length + 2);
    const bytes = this.bytes;
    const start = this.length;
    let at = start;
    bytes[at++] = quote;
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if (code < 0x20 || code === quote || code === backslash || code > 0x7e) {
        // Escapes or non-ASCII (lone surrogates included): JSON.stringify's spelling, as UTF-8.
        this.length = start;
        this.text(JSON.stringify(value));
        return;
      }
      bytes[at++] = code;
    }
    bytes[at++] = quote;
    this.length = at;
  }

  number(key: string, value: number): void {
    this.key(key);
    this.numberValue(value);
  }

  boolean(key: string, value: boolean): void {
    this.key(key);
    this.ascii(value ? 'true' : 'false');
  }

  /** A number as `JSON.stringify` writes it; integers and hundredths without a string. */
  numberValue(value: number): void {
    const hundredths = Math.round(value * 100);
    // Exactly representable with two decimals and small: written digit by digit. `hundredths / 100`
    // is then `value` itself, and JavaScript's shortest form of it is these digits with trailing
    // zeros dropped (no other decimal with two places lies within a double's spacing here).
    if (hundredths / 100 === value && hundredths > -1e15 && hundredths < 1e15) {
      this.reserve(20);
      const bytes = this.bytes;
      let at = this.length;
      let rest = hundredths;
      if (rest < 0) {
        bytes[at++] = minus;
        rest = -rest;
      }
      const fraction = rest % 100;
      at = writeDigits(bytes, at, (rest - fraction) / 100);
      if (fraction !== 0) {
        bytes[at++] = dot;
        bytes[at++] = zero + ((fraction / 10) | 0);
        if (fraction % 10 !== 0) bytes[at++] = zero + (fraction % 10);
      }
      this.length = at;
      return;
    }
    this.ascii(Number.isFinite(value) ? String(value) : 'null');
  }
}

/** The decimal digits of a non-negative integer below 2^53. */
function writeDigits(bytes: Buffer, at: number, value: number): number {
  let digits = 1;
  for (let power = 10; power <= value; power *= 10) digits++;
  const end = at + digits;
  let rest = value;
  for (let i = end - 1; i >= at; i--) {
    const next = Math.floor(rest / 10);
    bytes[i] = zero + (rest - next * 10);
    rest = next;
  }
  return end;
}
