import type { KnownEventType, StreamEvent, StreamEventMap, UnlistedStreamEvent } from './stream-events.js';

/**
 * What a handler is registered for: an event type (`message.new`), a family of them
 * (`message.*`: every type starting with `message.`, present and future), or `*` for all.
 * Any other string names one exact type, typed or not.
 */
export type EventPattern = KnownEventType | `${string}.*` | '*' | (string & {});

/** The events a pattern matches, typed: a known type's payload; a family's typed members plus its future ones. */
export type EventsMatching<P extends string> = P extends KnownEventType
  ? StreamEventMap[P]
  : P extends '*'
    ? StreamEvent
    : P extends `${infer Family}.*`
      ? StreamEventMap[Extract<KnownEventType, `${Family}.${string}`>] | UnlistedStreamEvent<`${Family}.`>
      : UnlistedStreamEvent<P>;

/** A pattern compiled to a test on an event type. */
export type EventTypeTest = (type: string) => boolean;

/**
 * Compiles a pattern; throws a TypeError for one that can never match as meant (empty, or a `*`
 * anywhere but a whole last segment).
 */
export function compileEventPattern(pattern: string): EventTypeTest {
  if (typeof pattern !== 'string' || pattern === '') throw new TypeError('pending-hooks: an event pattern must be a non-empty string');
  if (pattern === '*') return () => true;
  const star = pattern.indexOf('*');
  if (star === -1) return (type) => type === pattern;
  if (star !== pattern.length - 1 || !pattern.endsWith('.*') || pattern.length < 3) {
    throw new TypeError(`pending-hooks: event pattern ${JSON.stringify(pattern)}: "*" may only be a whole last segment ("message.*") or the whole pattern`);
  }
  const family = pattern.slice(0, -1);
  return (type) => type.length > family.length && type.startsWith(family);
}
