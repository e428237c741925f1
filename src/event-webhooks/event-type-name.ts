/** Longest event type accepted; Stream's are a few dozen characters. */
const maxEventTypeChars = 100;

// Dot-separated words (`message.new`, `user.presence.changed`, `notification.message_new`);
// the separator makes the grammar unambiguous, so the test is linear.
const eventTypeGrammar = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** Whether a string is shaped like a Stream event type (checked on the body's `type` and on a templated path's last segment). */
export function isEventTypeName(value: string): boolean {
  return value.length <= maxEventTypeChars && eventTypeGrammar.test(value);
}
