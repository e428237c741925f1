import { createPublicKey, type KeyObject } from 'node:crypto';
import { DeliveryDecodeError } from './delivery-error.js';

/** Decides whether a URL in an SNS message (`SigningCertURL`, `SubscribeURL`) may be fetched. */
export type SnsUrlPolicy = (url: URL) => boolean;

const snsHost = /^sns\.[a-z0-9-]{1,32}\.amazonaws\.com(?:\.cn)?$/;

/**
 * AWS's own hosts only: `https://sns.<region>.amazonaws.com` (and `.com.cn`), default port, no
 * credentials. Anyone can put any URL in a message; fetching one elsewhere would let them choose
 * the certificate that "verifies" their message, or make this server call their URL.
 */
export const awsSnsUrlPolicy: SnsUrlPolicy = (url) => url.protocol === 'https:' && url.port === '' && url.username === '' && url.password === '' && snsHost.test(url.hostname);

export interface CertificateCacheOptions {
  readonly isAllowed: SnsUrlPolicy;
  readonly fetch: typeof globalThis.fetch;
  /** Certificates kept (the oldest is dropped first). Default 32; AWS signs with a few at a time. */
  readonly maxEntries?: number;
  /** Longest certificate accepted, in bytes. Default 16 KiB. */
  readonly maxBytes?: number;
  /** Longest wait for a certificate. Default 5 s. */
  readonly timeoutMs?: number;
}

/** Signing certificates' public keys by URL, fetched once each from allowed hosts only. */
export interface CertificateCache {
  publicKey(certificateUrl: string): Promise<KeyObject>;
}

export function createCertificateCache(options: CertificateCacheOptions): CertificateCache {
  const maxEntries = options.maxEntries ?? 32;
  const maxBytes = options.maxBytes ?? 16 * 1024;
  const timeoutMs = options.timeoutMs ?? 5000;
  // Promises, so concurrent messages signed with one new certificate fetch it once.
  const keys = new Map<string, Promise<KeyObject>>();

  async function load(url: URL): Promise<KeyObject> {
    let response: Response;
    try {
      response = await options.fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (error) {
      throw new DeliveryDecodeError('certificate_unavailable', `signing certificate ${url.href} could not be fetched: ${(error as Error).message}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DeliveryDecodeError('certificate_unavailable', `signing certificate ${url.href} answered ${response.status}`);
    }
    const pem = await readBounded(response, maxBytes);
    try {
      return createPublicKey(pem);
    } catch (error) {
      throw new DeliveryDecodeError('certificate_unavailable', `signing certificate ${url.href} is not a PEM certificate: ${(error as Error).message}`);
    }
  }

  return {
    publicKey(certificateUrl) {
      let url: URL;
      try {
        url = new URL(certificateUrl);
      } catch {
        return Promise.reject(new DeliveryDecodeError('certificate_not_allowed', 'SigningCertURL is not a URL'));
      }
      if (!options.isAllowed(url)) return Promise.reject(new DeliveryDecodeError('certificate_not_allowed', `SigningCertURL host ${url.host} is not allowed`));
      const known = keys.get(url.href);
      if (known !== undefined) return known;
      const loading = load(url);
      keys.set(url.href, loading);
      if (keys.size > maxEntries) keys.delete(keys.keys().next().value!);
      // A failure is not remembered: the next message tries again.
      loading.catch(() => keys.get(url.href) === loading && keys.delete(url.href));
      return loading;
    },
  };
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new DeliveryDecodeError('certificate_unavailable', `signing certificate exceeds ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new DeliveryDecodeError('certificate_unavailable', `signing certificate exceeds ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
