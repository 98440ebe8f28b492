/**
 * The key sets that access tokens are checked against: one per (issuer, jwksUri), shared by every
 * route that names the same pair, so one fetch serves them all.
 *
 * jose's `createRemoteJWKSet` keeps the keys: it fetches them on first use, and again when a token
 * names a `kid` it does not hold (at most once per cooldown), so a rotated key is picked up. Around
 * it, this file adds what a gateway needs:
 * - the URL of the keys, from the config or discovered from the issuer's metadata (discovery.ts);
 * - every fetch made by mcpmux itself (fetch-document.ts): a deadline, a size bound, no redirect;
 * - keys older than `maxAgeMs` refreshed in the background, so a key the issuer withdrew stops
 *   verifying; a refresh that fails keeps the keys held (stale if error): a known `kid` still
 *   verifies while the issuer is down;
 * - after a failed fetch, no fetch before `retryMs`: a token that needs one meanwhile gets a
 *   KeySetError at once, with the seconds left as its `retryAfterSeconds`, instead of every request
 *   hammering a server that is down and waiting out its timeout;
 * - every fetch reported to `onFetch` (metrics subscribe; this file does not know who listens).
 *
 * A KeySet never throws anything but jose's own errors (no key matches the token) or a KeySetError
 * (the keys cannot be had now).
 */
import { createRemoteJWKSet, customFetch, errors, type FlattenedJWSInput, type JWTHeaderParameters } from 'jose';
import { systemClock, type Clock } from '../clock.js';
import { KeySetError, type KeySetFetchKind } from '../errors.js';
import { discoverJwksUri } from './discovery.js';
import { fetchJsonDocument, type Fetch } from './fetch-document.js';

/** One fetch of a key set, or one discovery of where it is (every URL it tried, as one). */
export interface KeySetFetch {
  readonly issuer: string;
  readonly kind: KeySetFetchKind;
  readonly result: 'ok' | 'error';
  readonly error?: string;
}

export interface KeySetsOptions {
  /** Each fetch (headers and body) within this; default 5000. */
  readonly timeoutMs?: number;
  /**
   * No refetch for an unknown `kid` within this of the last successful fetch; default 5000. Within
   * it, such a token is `unavailable` (503, Retry-After), not invalid: it may be signed with a key
   * the issuer has just rotated in. jose's own default, 30 s, would turn every new-key token away
   * that long after any fetch; 5 s still holds a flood of made-up kids to one fetch per 5 s.
   */
  readonly cooldownMs?: number;
  /** Keys older than this are refreshed in the background; default 600 000 (jose's cacheMaxAge). */
  readonly maxAgeMs?: number;
  /** After a failed fetch, none again before this (a 503's Retry-After); default 5000: one fetch per 5 s per issuer while it is down. */
  readonly retryMs?: number;
  /** A metadata document or key set past this is refused; default 512 KiB. */
  readonly maxBytes?: number;
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  readonly onFetch?: (fetched: KeySetFetch) => void;
}

/** A key lookup for jose's `jwtVerify`: the key a token's header names. */
export type KeySet = (header: JWTHeaderParameters, token: FlattenedJWSInput) => ReturnType<RemoteKeySet>;

export interface KeySets {
  /** The key set of `issuer`, at `jwksUri` or else where its metadata says; the same one for the same pair. */
  keySetFor(issuer: string, jwksUri?: string): KeySet;
  /** Aborts fetches under way and forgets every key set. Safe to call twice. */
  close(): void;
}

type Settings = Required<Omit<KeySetsOptions, 'onFetch'>> & { readonly report: (fetched: KeySetFetch) => void; readonly closing: AbortSignal };
type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;

export function createKeySets(options: KeySetsOptions = {}): KeySets {
  const closing = new AbortController();
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? 5000,
    cooldownMs: options.cooldownMs ?? 5000,
    maxAgeMs: options.maxAgeMs ?? 600_000,
    retryMs: options.retryMs ?? 5000,
    maxBytes: options.maxBytes ?? 512 * 1024,
    fetch: options.fetch ?? fetch,
    clock: options.clock ?? systemClock,
    closing: closing.signal,
    report: (fetched) => {
      if (closing.signal.aborted) return;
      try {
        options.onFetch?.(fetched);
      } catch {
        // A listener's failure is the listener's: fetching goes on.
      }
    },
  };
  const sets = new Map<string, KeySet>();
  return {
    keySetFor(issuer, jwksUri) {
      const key = JSON.stringify([issuer, jwksUri ?? null]);
      let set = sets.get(key);
      if (!set) sets.set(key, (set = createKeySet(issuer, jwksUri, settings)));
      return set;
    },
    close() {
      closing.abort();
      sets.clear();
    },
  };
}

function createKeySet(issuer: string, jwksUri: string | undefined, settings: Settings): KeySet {
  const { clock } = settings;
  let remote: RemoteKeySet | undefined;
  let discovering: Promise<RemoteKeySet> | undefined;
  let fetchedAt: number | undefined;
  let retryAt = 0;

  const secondsUntil = (at: number) => Math.max(1, Math.ceil((at - clock.now()) / 1000));
  const holdOff = (kind: KeySetFetchKind) => new KeySetError(issuer, kind, `a fetch failed; not tried again for ${secondsUntil(retryAt)} s`, secondsUntil(retryAt));
  const failed = (kind: KeySetFetchKind, cause: unknown) => {
    retryAt = clock.now() + settings.retryMs;
    const message = (cause as Error).message;
    settings.report({ issuer, kind, result: 'error', error: message });
    return new KeySetError(issuer, kind, message, secondsUntil(retryAt), { cause });
  };
  const fetchDocument = (url: URL | string, accept?: string) =>
    fetchJsonDocument(url, { fetch: settings.fetch, timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, signal: settings.closing, ...(accept ? { accept } : {}) });

  // jose's fetch: the only place keys are fetched. A KeySetError thrown here reaches the verifier
  // unchanged through jose's reload.
  const fetchKeys = async (url: string): Promise<Response> => {
    if (clock.now() < retryAt) throw holdOff('jwks');
    try {
      const document = await fetchDocument(url, 'application/jwk-set+json, application/json');
      if (!isKeySetDocument(document)) throw new Error(`${url}: is not a JSON Web Key Set (no "keys" list)`);
      fetchedAt = clock.now();
      settings.report({ issuer, kind: 'jwks', result: 'ok' });
      return Response.json(document);
    } catch (cause) {
      throw failed('jwks', cause);
    }
  };
  const open = (url: URL) =>
    (remote = createRemoteJWKSet(url, {
      timeoutDuration: settings.timeoutMs,
      cooldownDuration: settings.cooldownMs,
      // Age is handled here, in the background; jose would make the request wait, and fail it.
      cacheMaxAge: Infinity,
      [customFetch]: fetchKeys,
    }));

  const remoteKeySet = (): RemoteKeySet | Promise<RemoteKeySet> => {
    if (remote) return remote;
    if (jwksUri !== undefined) return open(new URL(jwksUri));
    if (discovering) return discovering;
    if (clock.now() < retryAt) throw holdOff('discovery');
    discovering = discoverJwksUri(issuer, (url) => fetchDocument(url))
      .then(
        (url) => {
          settings.report({ issuer, kind: 'discovery', result: 'ok' });
          return open(url);
        },
        (cause: unknown) => {
          throw failed('discovery', cause);
        },
      )
      .finally(() => (discovering = undefined));
    return discovering;
  };

  return async (header, token) => {
    const keys = await remoteKeySet();
    if (fetchedAt !== undefined && clock.now() - fetchedAt >= settings.maxAgeMs && clock.now() >= retryAt && !keys.reloading) {
      keys.reload().catch(() => {}); // a failure is already reported and held off; the keys held stay
    }
    const before = fetchedAt;
    try {
      return await keys(header, token);
    } catch (error) {
      // An unknown kid that jose did not look for (cooling down since the last fetch): not known to
      // be bad, only not checkable yet. After a fetch of its own, it is unknown: invalid.
      if (error instanceof errors.JWKSNoMatchingKey && fetchedAt === before && fetchedAt !== undefined && keys.coolingDown) {
        const at = fetchedAt + settings.cooldownMs;
        throw new KeySetError(issuer, 'jwks', `a key not held yet; keys were fetched under ${Math.ceil(settings.cooldownMs / 1000)} s ago`, secondsUntil(at));
      }
      throw error;
    }
  };
}

function isKeySetDocument(document: unknown): boolean {
  const keys = (document as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key));
}
