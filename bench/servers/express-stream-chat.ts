/**
 * What Stream's docs lead users to: express, the raw body, the official stream-chat client's
 * `verifyWebhook(body, signature)`, then JSON.parse and answer.
 */
import express from 'express';
import { StreamChat } from 'stream-chat';
import { announce, benchApiKey, benchSecret, restAnswer, restPath, serverHost, serverPort } from '../lib/common.js';

const client = new StreamChat(benchApiKey, benchSecret);
const app = express();

app.post(restPath, express.raw({ type: 'application/json' }), (req, res) => {
  const body = req.body as Buffer;
  const signature = req.header('x-signature');
  if (!signature || !client.verifyWebhook(body, signature)) {
    res.status(401).json({ error: 'invalid_signature' });
    return;
  }
  let payload: { message?: { text?: string | null } };
  try {
    payload = JSON.parse(body.toString('utf8')) as typeof payload;
  } catch {
    res.status(400).json({ error: 'malformed_json' });
    return;
  }
  res.type('application/json').send(restAnswer(payload?.message?.text));
});

const server = app.listen(serverPort(), serverHost, () => {
  announce((server.address() as { port: number }).port);
});
