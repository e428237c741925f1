import type { ApplyReport } from '../decision/apply-decision.js';
import type { Outcome } from '../decision/decision.js';
import type { PendingMessageEvent } from '../event/pending-message-event.js';
import type { LineFields } from '../observe/json-line-bytes.js';

/**
 * What a `decision` line says, kept until the line is written (after the answer): the event's
 * fields, not the event, so the parsed message is garbage as soon as the callback is answered.
 */
export interface DecisionLine {
  readonly webhookId: string | undefined;
  readonly messageId: string;
  readonly apiKey: string;
  readonly transport: PendingMessageEvent['transport'];
  readonly attempt: number;
  readonly outcome: Outcome;
  readonly report: ApplyReport;
  readonly replayed: boolean;
  readonly latencyMs: number;
  readonly budgetLeftMs: number;
}

/** The decision line's fields, in the order and form pino writes them (undefined left out). */
export function decisionFields(line: DecisionLine, out: LineFields): void {
  const { outcome, report } = line;
  if (line.webhookId !== undefined) out.string('webhookId', line.webhookId);
  out.string('messageId', line.messageId);
  out.string('apiKey', line.apiKey);
  out.string('transport', line.transport);
  out.number('attempt', line.attempt);
  out.string('action', outcome.action);
  if (outcome.reason !== undefined) out.string('reason', outcome.reason);
  out.boolean('timedOut', outcome.timedOut);
  out.string('applied', report.status);
  out.number('apiCalls', report.attempts);
  out.boolean('replayed', line.replayed);
  out.number('latencyMs', line.latencyMs);
  out.number('budgetLeftMs', line.budgetLeftMs);
}
