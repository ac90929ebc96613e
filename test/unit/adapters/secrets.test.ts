import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecrets } from '../../../functions/shared/adapters/secrets';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

function makeSecrets(ttlMs = 1000) {
  let now = 1_000_000;
  const clock = { now: () => now };
  const secrets = new SecretsManagerSecrets(new SecretsManagerClient({ region: 'us-east-1' }), {
    ttlMs,
    clock,
  });
  return { secrets, advance: (ms: number) => (now += ms) };
}

describe('SecretsManagerSecrets', () => {
  it('serves a value from memory within the TTL and re-reads after it (rotation)', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'webhook' })
      .resolvesOnce({ SecretString: 'v1' })
      .resolves({ SecretString: 'v2' });
    const { secrets, advance } = makeSecrets(1000);
    expect(await secrets.get('webhook')).toBe('v1');
    advance(999);
    expect(await secrets.get('webhook')).toBe('v1');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    advance(2);
    expect(await secrets.get('webhook')).toBe('v2');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one request between concurrent cold reads and decodes binary secrets', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'bin' }).resolves({ SecretBinary: Buffer.from('bytes') });
    const { secrets } = makeSecrets();
    const values = await Promise.all(Array.from({ length: 10 }, () => secrets.get('bin')));
    expect(new Set(values)).toEqual(new Set(['bytes']));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('does not cache failures, and never puts a value in an error message', async () => {
    const failure = Object.assign(new Error('boom'), { name: 'ThrottlingException' });
    sm.on(GetSecretValueCommand).rejectsOnce(failure).resolves({ SecretString: 'top-secret-value' });
    const { secrets } = makeSecrets();
    await expect(secrets.get('webhook')).rejects.toThrow(
      'could not read secret webhook: ThrottlingException',
    );
    expect(await secrets.get('webhook')).toBe('top-secret-value');

    sm.reset();
    sm.on(GetSecretValueCommand).resolves({});
    const fresh = makeSecrets();
    await expect(fresh.secrets.get('empty')).rejects.toThrow(/has no value/);
  });
});
