import { verify, type KeyObject } from 'node:crypto';
import type { SnsMessage } from './sns-message.js';
import { decodeStrictBase64 } from './strict-base64.js';

/**
 * The text SNS signs, per AWS's "Verifying the signatures of Amazon SNS messages": the listed
 * fields in byte order of their names, each as `Name\nValue\n`; `Subject` only when present.
 */
export function snsStringToSign(message: SnsMessage): string {
  const names =
    message.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  let text = '';
  for (const name of names) {
    const value = message[name];
    if (value !== undefined) text += `${name}\n${value}\n`;
  }
  return text;
}

/** SignatureVersion 1 is RSA over SHA-1, 2 over SHA-256; anything else is not verifiable. */
export function snsSignatureAlgorithm(version: string): 'sha1' | 'sha256' | undefined {
  return version === '1' ? 'sha1' : version === '2' ? 'sha256' : undefined;
}

/** Whether the message's `Signature` is the signing certificate's key's signature of its string to sign. */
export function verifySnsSignature(message: SnsMessage, publicKey: KeyObject): boolean {
  const algorithm = snsSignatureAlgorithm(message.SignatureVersion);
  if (algorithm === undefined) return false;
  const signature = decodeStrictBase64(message.Signature);
  if (typeof signature === 'string') return false;
  return verify(algorithm, Buffer.from(snsStringToSign(message), 'utf8'), publicKey, signature);
}
