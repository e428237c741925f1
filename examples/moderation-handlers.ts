/**
 * The example moderation policy: a blocklist (instant), then a simulated remote classifier that
 * takes 20–700 ms — sometimes longer than the budget, so the timeout fallback shows up too.
 * Serve it with `pending-hooks serve examples/moderation-handlers.ts`.
 */
import { compose, decide, defineHandlers, type Check } from 'pending-hooks';

const blocklist = ['badword', 'scam', 'free crypto'];

/** Deletes messages that contain a blocked word. Costs microseconds, so it runs first. */
export const blocklistCheck: Check = (event) => {
  const text = (event.message.text ?? '').toLowerCase();
  const hit = blocklist.find((word) => text.includes(word));
  return hit ? decide.delete(`blocklist: ${hit}`) : undefined;
};

/**
 * Stands in for a remote classifier (an HTTP call in real life): it honours the signal, so when
 * the deadline passes it stops instead of working for nothing.
 */
export const classifierCheck: Check = async (event, { signal }) => {
  const text = event.message.text ?? '';
  const thinkMs = text.includes('[slow]') ? 2_000 : 20 + (hash(event.message.id) % 300);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, thinkMs);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });
  const shouting = text.length > 12 && /[A-Z]/.test(text) && !/[a-z]/.test(text);
  if (shouting) return decide.keepPending('classifier: shouting, left for a human');
  if (/https?:\/\/\S+\.(ru|zip)\b/.test(text)) return decide.delete('classifier: suspicious link');
  return undefined;
};

function hash(value: string): number {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (h * 31 + value.charCodeAt(i)) | 0;
  return Math.abs(h);
}

export default defineHandlers({
  PassOnPendingMessage: compose(blocklistCheck, classifierCheck),
  DeletedPendingMessage(event, { log }) {
    log.info({ messageId: event.message.id }, 'pending message deleted');
  },
});
