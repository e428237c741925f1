import type { ApplyReport } from '../decision/apply-decision.js';
import type { Outcome } from '../decision/decision.js';
import type { PendingMessageEvent } from '../event/pending-message-event.js';

/**
 * What a `decision` line says, kept until the line is built (after the answer): the event's
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

/** The decision line's fields as JSON, in the order and form pino writes them (undefined left out). */
export function decisionFields({ webhookId, messageId, apiKey, transport, attempt, outcome, report, replayed, latencyMs, budgetLeftMs }: DecisionLine): string {
  const webhook = webhookId === undefined ? '' : `"webhookId":${JSON.stringify(webhookId)},`;
  const reason = outcome.reason === undefined ? '' : `"reason":${JSON.stringify(outcome.reason)},`;
  return (
    `${webhook}"messageId":${JSON.stringify(messageId)},"apiKey":${JSON.stringify(apiKey)},"transport":"${transport}",` +
    `"attempt":${attempt},"action":"${outcome.action}",${reason}"timedOut":${outcome.timedOut},"applied":"${report.status}",` +
    `"apiCalls":${report.attempts},"replayed":${replayed},"latencyMs":${latencyMs},"budgetLeftMs":${budgetLeftMs}`
  );
}
