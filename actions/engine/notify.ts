import { createHmac } from 'node:crypto';

export interface Notification {
  url: string;
  secret?: string;
  payload: Record<string, unknown>;
  timeoutMs?: number;
}

/** `sha256=<hex>` HMAC of the exact body, in the header receivers check (same scheme as GitHub webhooks). */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs the payload as JSON. Returns an error message instead of throwing: a notification never fails a deploy. */
export async function notify({
  url,
  secret,
  payload,
  timeoutMs = 10_000,
}: Notification): Promise<string | undefined> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'deployer' };
  if (secret) headers['x-deployer-signature-256'] = signature(body, secret);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return `the notification endpoint answered ${response.status}`;
    return undefined;
  } catch (error) {
    return `the notification could not be sent: ${(error as Error).message}`;
  }
}
