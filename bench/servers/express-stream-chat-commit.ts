/**
 * What Stream's docs lead users to, with the decision applied: express, the raw body,
 * stream-chat's `verifyWebhook(body, signature)`, JSON.parse, then the official server client's
 * `commitMessage(id)` or `deleteMessage(id, true)` (hard delete) against `PH_BENCH_API_URL`
 * (the client's base URL set with `setBaseURL`), then the answer.
 */
import express from 'express';
import { StreamChat } from 'stream-chat';
import { announce, benchApiKey, benchSecret, decideText, restAnswer, restPath, serverHost, serverPort } from '../lib/common.js';

const apiUrl = process.env.PH_BENCH_API_URL;
if (!apiUrl) throw new Error('PH_BENCH_API_URL is required');
const client = new StreamChat(benchApiKey, benchSecret);
client.setBaseURL(apiUrl);
const app = express();

app.post(restPath, express.raw({ type: 'application/json' }), async (req, res) => {
  const body = req.body as Buffer;
  const signature = req.header('x-signature');
  if (!signature || !client.verifyWebhook(body, signature)) {
    res.status(401).json({ error: 'invalid_signature' });
    return;
  }
  let payload: { message?: { id?: string; text?: string | null } };
  try {
    payload = JSON.parse(body.toString('utf8')) as typeof payload;
  } catch {
    res.status(400).json({ error: 'malformed_json' });
    return;
  }
  const id = payload?.message?.id;
  if (typeof id !== 'string' || id === '') {
    res.status(400).json({ error: 'invalid_payload' });
    return;
  }
  const text = payload.message?.text;
  try {
    if (decideText(text).action === 'commit') await client.commitMessage(id);
    else await client.deleteMessage(id, true);
  } catch {
    res.status(503).json({ error: 'decision_not_applied' });
    return;
  }
  res.type('application/json').send(restAnswer(text));
});

const server = app.listen(serverPort(), serverHost, () => {
  announce((server.address() as { port: number }).port);
});
