import { FactoryClient } from './client';

/** How every REST command finds the API: --url / --api-key, or FACTORY_URL / FACTORY_API_KEY. */
export interface ConnectionOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

/** A mistake in how the command was called (each command decides its exit code). */
export class UsageError extends Error {}

export function clientOf(options: ConnectionOptions): FactoryClient {
  const url = options.url ?? process.env.FACTORY_URL;
  const apiKey = options.apiKey ?? process.env.FACTORY_API_KEY;
  if (!url) throw new UsageError('set FACTORY_URL or pass --url');
  if (!apiKey) throw new UsageError('set FACTORY_API_KEY or pass --api-key');
  return new FactoryClient({ url, apiKey });
}
