/**
 * A browser for one authorization request, without a browser: follows the authorization URL
 * through the authorization server's redirects and interaction pages with fetch, carrying its
 * cookies, posting each page's form (the login form with the chosen user), until a redirect
 * lands on the client's redirect URI. Nothing ever listens there: the walk stops at that URL.
 */

export interface AuthorizationResponse {
  /** The URL the server redirected to, with `code`, `state`, `iss` (or `error`). */
  readonly url: URL;
  readonly code: string;
  readonly state: string | null;
  readonly iss: string | null;
}

export interface HeadlessOptions {
  /** The client's redirect URI: where the walk stops. */
  readonly redirectUrl: string;
  /** The user to type into a login form (default: the form's own value). */
  readonly login?: string;
  /** Cookies carried from one walk to the next (the server's login session). */
  readonly jar?: CookieJar;
  readonly maxSteps?: number;
}

export async function authorizeHeadlessly(authorizationUrl: URL, options: HeadlessOptions): Promise<AuthorizationResponse> {
  const jar = options.jar ?? new CookieJar();
  const stop = new URL(options.redirectUrl);
  let url = authorizationUrl;
  let form: URLSearchParams | undefined;
  for (let step = 0; step < (options.maxSteps ?? 20); step++) {
    if (url.origin === stop.origin && url.pathname === stop.pathname) return authorizationResponse(url);
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: jar.header(url), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: form } : {}),
    });
    jar.store(url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      form = undefined;
      continue;
    }
    const text = await res.text();
    const page = res.ok ? parseForm(text) : undefined;
    if (!page) throw new Error(`the authorization server answered ${res.status} at ${url.pathname} with no form to post: ${text.slice(0, 500)}`);
    if (options.login !== undefined && page.fields.has('login')) page.fields.set('login', options.login);
    url = new URL(page.action, url);
    form = page.fields;
  }
  throw new Error(`no redirect to ${options.redirectUrl} after ${options.maxSteps ?? 20} steps`);
}

function authorizationResponse(url: URL): AuthorizationResponse {
  const { searchParams } = url;
  const code = searchParams.get('code');
  if (!code) throw new Error(`the authorization server redirected back with no code: ${searchParams.get('error') ?? '?'} ${searchParams.get('error_description') ?? ''}`);
  return { url, code, state: searchParams.get('state'), iss: searchParams.get('iss') };
}

/** The first form of a page: its action and its inputs' names and values. */
function parseForm(html: string): { action: string; fields: URLSearchParams } | undefined {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const action = /\baction="([^"]*)"/i.exec(form[0])?.[1] ?? '';
  const fields = new URLSearchParams();
  for (const input of form[1]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    if (name) fields.set(unescape(name), unescape(/\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? ''));
  }
  return { action: unescape(action), fields };
}

function unescape(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Just enough of a cookie jar: per origin, by name and path; an expired Set-Cookie removes. */
export class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(url: URL, setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const path = attribute('path') ?? '/';
      const key = `${url.origin} ${path} ${name}`;
      const expires = attribute('expires');
      const maxAge = attribute('max-age');
      if ((maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now())) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    const out: string[] = [];
    for (const [key, cookie] of this.#cookies) {
      if (!key.startsWith(`${url.origin} `)) continue;
      if (url.pathname === cookie.path || url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`)) out.push(`${cookie.name}=${cookie.value}`);
    }
    return out.join('; ');
  }
}
