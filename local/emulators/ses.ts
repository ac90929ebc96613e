import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { loopback } from './loopback';

/** aws-ses-v2-local is CommonJS with a default export; this is the part of it we use. */
type SesServerFactory = (config?: Partial<{ host: string; port: number }>) => Promise<Server>;
const sesLocal = createRequire(import.meta.url)('aws-ses-v2-local') as { default: SesServerFactory };

/**
 * One sent email as aws-ses-v2-local keeps it. `GET ${mailUrl}/store` answers
 * `{ "templates": { [name]: Template }, "emails": StoredEmail[] }` (oldest first);
 * `?since=<epoch seconds>` keeps the emails with `at >= since`. `POST ${mailUrl}/clear-store`
 * empties it, and `GET ${mailUrl}/` is its web mail viewer.
 */
export interface StoredEmail {
  /** `ses-<9 digits>`, the MessageId SendEmail returned. */
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { html?: string; text?: string };
  attachments: Array<{ content: string; contentType: string; filename?: string; size: number }>;
  headers?: Array<{ name: string; value: string }>;
  /** Epoch seconds. */
  at: number;
}

export interface MailStore {
  templates: Record<string, unknown>;
  emails: StoredEmail[];
}

export interface SesEmulator {
  /** SES v2 endpoint for SESv2Client (and SES v1): http://127.0.0.1:<port> */
  endpoint: string;
  /** The same server: `${mailUrl}/store` lists the sent emails (see MailStore). */
  mailUrl: string;
  close(): Promise<void>;
}

/**
 * Starts aws-ses-v2-local on 127.0.0.1 (its default host is `::`, every interface). Its mail
 * store is module-global: every instance in one process shares it, so tests look for their own
 * message ids rather than counting emails. Nothing is forwarded by SMTP unless SMTP_TRANSPORT is
 * set, which the embedded stack never does.
 */
export async function startSes(options: { port?: number } = {}): Promise<SesEmulator> {
  const server = await sesLocal.default({ host: '127.0.0.1', port: options.port ?? 0 });
  // Express 5 reports a listen error to the callback and the library resolves anyway.
  if (!server.listening) {
    server.close();
    throw new Error(`aws-ses-v2-local could not listen on 127.0.0.1:${options.port ?? 0}`);
  }
  const { endpoint, close } = loopback(server);
  return { endpoint, mailUrl: endpoint, close };
}

/** Reads the mail store over HTTP (what the console and the tests do). */
export async function readMailStore(
  mailUrl: string,
  options: { timeoutMs?: number } = {},
): Promise<MailStore> {
  const response = await fetch(`${mailUrl}/store`, {
    signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
  });
  if (!response.ok) throw new Error(`mail store answered ${response.status}`);
  return (await response.json()) as MailStore;
}
