import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Clock, Secrets } from '../ports';

export interface SecretsCacheOptions {
  /** How long a value is served from memory; rotation takes effect within this time. */
  ttlMs?: number;
  clock?: Clock;
}

const DEFAULT_TTL_MS = 5 * 60_000;

/**
 * Secrets Manager behind a short in-memory cache: a warm Lambda container reads each secret at
 * most once per TTL, concurrent cold reads share one request, and a failed read is not cached.
 * Values are never logged, and errors name only the secret id.
 */
export class SecretsManagerSecrets implements Secrets {
  private readonly cache = new Map<string, { value: Promise<string>; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: SecretsManagerClient,
    options: SecretsCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  get(secretId: string): Promise<string> {
    const now = this.clock.now();
    const hit = this.cache.get(secretId);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = this.fetch(secretId);
    this.cache.set(secretId, { value, expiresAt: now + this.ttlMs });
    value.catch(() => {
      if (this.cache.get(secretId)?.value === value) this.cache.delete(secretId);
    });
    return value;
  }

  private async fetch(secretId: string): Promise<string> {
    let output: GetSecretValueCommandOutput;
    try {
      output = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      throw new Error(`could not read secret ${secretId}: ${name}`, { cause: error });
    }
    if (typeof output.SecretString === 'string') return output.SecretString;
    if (output.SecretBinary) return Buffer.from(output.SecretBinary).toString('utf8');
    throw new Error(`secret ${secretId} has no value`);
  }
}
