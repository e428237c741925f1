import { isEventTypeName } from './event-type-name.js';

/** An events path matched: the templated form names the app id and the event type. */
export interface EventPathMatch {
  readonly path: string;
  readonly appId: string | undefined;
  readonly eventType: string | undefined;
}

const appIdGrammar = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Matches `{base}` (Stream's plain `webhook_url`) and `{base}/{appId}/{eventType}` (a URL
 * templated as `…/{{.AppID}}/{{.EventType}}`), nothing else. The event type segment must hold a
 * dot and the app id none, so a Twirp path (`/{package}.{Service}/{Method}`) is never taken for one.
 */
export function createEventPathMatcher(base: string): (path: string) => EventPathMatch | undefined {
  const plain = base === '' ? '/' : base;
  const plainMatch: EventPathMatch = Object.freeze({ path: plain, appId: undefined, eventType: undefined });
  const templatedStart = `${base}/`;
  return (path) => {
    if (path === plain) return plainMatch;
    if (!path.startsWith(templatedStart)) return undefined;
    const slash = path.indexOf('/', templatedStart.length);
    if (slash === -1) return undefined;
    const appId = path.slice(templatedStart.length, slash);
    const eventType = path.slice(slash + 1);
    if (!appIdGrammar.test(appId) || !eventType.includes('.') || !isEventTypeName(eventType)) return undefined;
    return { path, appId, eventType };
  };
}
