/**
 * An SQS consumer for Stream's event hooks of type `sqs`, serving the same handlers as the
 * webhooks. No AWS SDK here: plug your client in through `receive` and `delete`, e.g. with
 * @aws-sdk/client-sqs:
 *
 *   const sqs = new SQSClient({});
 *   await consumeStreamEvents({
 *     events: hooks.events, // or createEventWebhooks()
 *     receive: async (signal) =>
 *       ((await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }), { abortSignal: signal })).Messages ?? [])
 *         .map((m) => ({ id: m.MessageId!, body: m.Body!, receipt: m.ReceiptHandle! })),
 *     delete: (message) => sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.receipt })).then(() => {}),
 *     signal: shutdown.signal,
 *   });
 */
import type { EventWebhooks } from 'pending-hooks';
import { decodeSqsBody, DeliveryDecodeError } from 'pending-hooks/deliveries';

export interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  /** Whatever your client needs to delete it (SQS: the receipt handle). */
  readonly receipt: string;
}

export interface ConsumerOptions {
  readonly events: EventWebhooks;
  /** One long poll: the messages received (possibly none). */
  receive(signal: AbortSignal): Promise<readonly QueuedMessage[]>;
  /** Removes a message from the queue once handled. */
  delete(message: QueuedMessage): Promise<void>;
  /** Stops the loop (after the messages in hand are handled). */
  readonly signal: AbortSignal;
  readonly log?: (line: string, fields: Record<string, unknown>) => void;
}

/**
 * Receives, decodes, dispatches, deletes — until `signal` aborts. A message whose handlers all
 * succeeded is deleted; one with a failed handler is left on the queue, so SQS delivers it again
 * after its visibility timeout (and to the dead-letter queue after maxReceiveCount). A message
 * that can never decode is deleted at once: redelivering it would fail the same way.
 */
export async function consumeStreamEvents(options: ConsumerOptions): Promise<void> {
  const log = options.log ?? ((line, fields) => console.error(line, fields));
  while (!options.signal.aborted) {
    let messages: readonly QueuedMessage[];
    try {
      messages = await options.receive(options.signal);
    } catch (error) {
      if (options.signal.aborted) break;
      log('receive failed; polling again in 1 s', { error: String(error) });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      continue;
    }
    const settled = await Promise.allSettled(
      messages.map(async (message) => {
        try {
          const event = await decodeSqsBody(message.body);
          const result = await options.events.dispatch(event, { via: 'sqs', id: message.id });
          if (result.errors.length === 0) await options.delete(message);
        } catch (error) {
          if (!(error instanceof DeliveryDecodeError)) throw error;
          log('undecodable SQS message deleted', { id: message.id, code: error.code, error: error.message });
          await options.delete(message);
        }
      }),
    );
    // A failed delete leaves the message for redelivery: handlers see it again (make them idempotent).
    for (const outcome of settled) if (outcome.status === 'rejected') log('message not deleted', { error: String(outcome.reason) });
  }
}
