import { InputError } from '../inputs.js';

/**
 * Validates a readiness URL read from input `name` (http or https, a host). Its credentials
 * (`user:pass@`) are sent as Basic auth; the input reader masks them first (see `credentialsOf`).
 */
export function readinessUrl(raw: string, name: string): string {
  const value = raw.trim();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(
      name,
      `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(value))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError(
      name,
      `expected an http:// or https:// URL, got ${JSON.stringify(redactUrl(value))}`,
    );
  if (!url.hostname)
    throw new InputError(name, `expected a URL with a host, got ${JSON.stringify(redactUrl(value))}`);
  return value;
}

/** The secrets a URL carries, to mask. A user name shorter than 4 characters is not masked: the runner would star that text everywhere. */
export function credentialsOf(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]*)@/i.exec(raw.trim())?.[1];
    return userinfo ? [userinfo] : [];
  }
  const user = url.username.length >= 4 ? [url.username, decodeURIComponent(url.username)] : [];
  return [...new Set([...user, url.password, decodeURIComponent(url.password)])].filter(Boolean);
}

/** The URL without `user:pass@`, for logs and summaries. Works on text that is not a valid URL too. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1');
}

/** Basic-auth header value from the URL's credentials, if it has any. */
export function basicAuthFromUrl(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
