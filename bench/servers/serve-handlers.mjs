// The trivial handler of every benchmark row (bench/lib/common.ts decideText), as a plain
// JavaScript handlers module for `pending-hooks serve`; `pending-hooks` resolves to the built
// package (dist/) through the package's own `exports`.
import { decide, defineHandlers } from 'pending-hooks';

const blocklist = /\b(?:spam|scam|viagra)\b/i;

export default defineHandlers({
  PassOnPendingMessage: (event) => (event.message.text && blocklist.test(event.message.text) ? decide.delete('blocklist') : decide.commit()),
});
