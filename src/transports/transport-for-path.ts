import type { CallbackRoute, TransportFamily } from './codec.js';

/**
 * What serves a path: its route (REST, Twirp or Connect, and which of Stream's two methods), or
 * — for a path no route serves — the transport family whose error format answers it (REST 404
 * or Twirp `bad_route`). Tell the two apart with `'family' in served`.
 */
export type ServedBy = CallbackRoute | TransportFamily;

export interface TransportForPathOptions {
  readonly routes: readonly CallbackRoute[];
  /** Answers unknown paths, unless Twirp claims them. */
  readonly rest: TransportFamily;
  /** Twirp, when served, and its normalized prefix (`''` allowed). */
  readonly twirp?: { readonly family: TransportFamily; readonly prefix: string } | undefined;
}

// `/{package}.{Service}/{Method}`: a Twirp path when the Twirp prefix is empty.
const twirpPathWithEmptyPrefix = /^\/[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+\/[A-Za-z_][\w]*$/;

/**
 * The one function that picks the transport for a path (without query string): a route by its
 * exact path; otherwise Twirp for a path under the Twirp prefix (with an empty prefix: a path
 * shaped `/{package}.{Service}/{Method}`), REST for every other path. Connect answers only its
 * own procedure paths; an unknown path under its prefix is answered as REST or Twirp would.
 */
export function createTransportForPath(options: TransportForPathOptions): (path: string) => ServedBy {
  const byPath = new Map<string, CallbackRoute>();
  for (const route of options.routes) {
    if (byPath.has(route.path)) throw new TypeError(`pending-hooks: two routes at ${route.path}; give each transport its own prefix`);
    byPath.set(route.path, route);
  }
  const { rest, twirp } = options;
  const twirpFamily = twirp?.family;
  const twirpUnder = twirp === undefined || twirp.prefix === '' ? undefined : `${twirp.prefix}/`;
  return (path) => {
    const route = byPath.get(path);
    if (route !== undefined) return route;
    if (twirpFamily === undefined) return rest;
    if (twirpUnder === undefined ? twirpPathWithEmptyPrefix.test(path) : path.startsWith(twirpUnder)) return twirpFamily;
    return rest;
  };
}
