import { decide } from '../decision/decision.js';
import { defineHandlers } from '../define-handlers.js';
import { compose } from '../dispatch/compose.js';
import type { Check } from '../dispatch/handler.js';
import { defaultBadWords, defaultSlowMarker } from './scenario.js';

/**
 * The handlers `pending-hooks emulate` serves when given none: the counterpart of the
 * scenario's messages. Blocklisted words are deleted at once; other messages wait for a
 * simulated classifier (20–320 ms), which takes 2 s — past any usual budget — for messages
 * carrying the slow marker, so the fallback shows up. (examples/moderation-handlers.ts is the
 * same policy written out as an example to copy.)
 */
const blocklist: Check = (event) => {
  const text = (event.message.text ?? '').toLowerCase();
  const hit = defaultBadWords.find((word) => text.includes(word));
  return hit ? decide.delete(`blocklist: ${hit}`) : undefined;
};

const simulatedClassifier: Check = async (event, { signal }) => {
  const thinkMs = (event.message.text ?? '').includes(defaultSlowMarker) ? 2_000 : 20 + (hash(event.message.id) % 300);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, thinkMs);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
  return undefined;
};

function hash(value: string): number {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (h * 31 + value.charCodeAt(i)) | 0;
  return Math.abs(h);
}

export const demoHandlers = defineHandlers({ PassOnPendingMessage: compose(blocklist, simulatedClassifier) });
