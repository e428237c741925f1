/** Stream's longest message id (custom ids included). */
export const maxMessageIdLength = 255;

/**
 * Why a `message.id` cannot be a Stream message id, or undefined when it can. Such an id never
 * reaches a handler: it cannot name a message Stream would commit or delete, and as a path
 * segment of the API call (`/messages/{id}/commit`) `.`/`..` would name another path and a lone
 * surrogate cannot be encoded at all. One linear pass, no regular expression.
 */
export function messageIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'message.id is required';
  if (id.length > maxMessageIdLength) return `message.id is longer than ${maxMessageIdLength} characters`;
  if (id === '.' || id === '..') return 'message.id cannot be "." or ".."';
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return 'message.id contains a control character';
  }
  if (!isWellFormed(id)) return 'message.id contains a lone surrogate (not valid Unicode)';
  return undefined;
}

/** True when the string has no lone surrogate: ES2024's `isWellFormed` (native in Node 20; the project's lib is ES2023). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
