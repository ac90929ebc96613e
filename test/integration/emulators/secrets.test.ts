import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecrets } from '../../../functions/shared/adapters/secrets';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { type SecretsEmulator, startSecrets } from '../../../local/emulators/secrets';

const clients: SecretsManagerClient[] = [];
function clientFor(endpoint: string): SecretsManagerClient {
  const client = new SecretsManagerClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  });
  clients.push(client);
  return client;
}

let dataDir: string;
let memory: SecretsEmulator;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'secrets-test-'));
  memory = await startSecrets({ seed: { 'factory/webhook': 'seeded-value' } });
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await memory?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('local Secrets Manager endpoint', () => {
  it('creates, reads, describes, updates and lists secrets through the real client', async () => {
    const client = clientFor(memory.endpoint);
    const created = await client.send(
      new CreateSecretCommand({ Name: 'factory/github', SecretString: 'v1' }),
    );
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:factory\/github-.{6}$/,
    );
    const read = await client.send(new GetSecretValueCommand({ SecretId: 'factory/github' }));
    expect(read).toMatchObject({ Name: 'factory/github', SecretString: 'v1', VersionStages: ['AWSCURRENT'] });
    expect(read.CreatedDate).toBeInstanceOf(Date);

    const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'v2' }));
    expect(put.VersionStages).toEqual(['AWSCURRENT']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'factory/github' }))).SecretString).toBe(
      'v2',
    );
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: 'factory/github', VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe('v1');

    const described = await client.send(new DescribeSecretCommand({ SecretId: 'factory/github' }));
    expect(Object.values(described.VersionIdsToStages ?? {}).sort()).toEqual([
      ['AWSCURRENT'],
      ['AWSPREVIOUS'],
    ]);

    const listed = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['factory/'] }] }),
    );
    expect(listed.SecretList?.map((secret) => secret.Name)).toEqual(['factory/github', 'factory/webhook']);
    // Listing never carries values.
    expect(JSON.stringify(listed)).not.toContain('v2');
  });

  it('pages ListSecrets', async () => {
    const client = clientFor(memory.endpoint);
    for (const name of ['page/a', 'page/b', 'page/c']) {
      await client.send(new CreateSecretCommand({ Name: name, SecretString: name }));
    }
    const first = await client.send(
      new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: ['page/'] }] }),
    );
    expect(first.SecretList?.map((secret) => secret.Name)).toEqual(['page/a', 'page/b']);
    const second = await client.send(
      new ListSecretsCommand({
        MaxResults: 2,
        NextToken: first.NextToken,
        Filters: [{ Key: 'name', Values: ['page/'] }],
      }),
    );
    expect(second.SecretList?.map((secret) => secret.Name)).toEqual(['page/c']);
    expect(second.NextToken).toBeUndefined();
  });

  it('raises the SDK exception classes for a missing or duplicate secret', async () => {
    const client = clientFor(memory.endpoint);
    const missing = client.send(new GetSecretValueCommand({ SecretId: 'no/such/secret' }));
    await expect(missing).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(new CreateSecretCommand({ Name: 'factory/webhook', SecretString: 'other' })),
    ).rejects.toBeInstanceOf(ResourceExistsException);
    // The seed did not overwrite, and the adapter the handlers use reads through the same protocol.
    await expect(new SecretsManagerSecrets(client).get('factory/webhook')).resolves.toBe('seeded-value');
  });

  it('answers a retried CreateSecret (same ClientRequestToken, same value) like the first call', async () => {
    const client = clientFor(memory.endpoint);
    const token = '0123456789abcdef0123456789abcdef';
    const first = await client.send(
      new CreateSecretCommand({ Name: 'retry/me', SecretString: 'x', ClientRequestToken: token }),
    );
    const again = await client.send(
      new CreateSecretCommand({ Name: 'retry/me', SecretString: 'x', ClientRequestToken: token }),
    );
    expect(again).toMatchObject({ ARN: first.ARN, VersionId: token });
  });

  it('keeps secrets across a restart with the same data dir, in a 0600 file', async () => {
    const first = await startSecrets({ dataDir });
    try {
      const client = clientFor(first.endpoint);
      await client.send(new CreateSecretCommand({ Name: 'factory/anthropic', SecretString: 'sk-local-1' }));
      await client.send(
        new PutSecretValueCommand({ SecretId: 'factory/anthropic', SecretString: 'sk-local-2' }),
      );
    } finally {
      await first.close();
    }
    const file = join(dataDir, 'secrets.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8')).secrets).toHaveLength(1);

    const second = await startSecrets({ dataDir, seed: { 'factory/anthropic': 'seed-must-not-win' } });
    try {
      const client = clientFor(second.endpoint);
      const read = await client.send(new GetSecretValueCommand({ SecretId: 'factory/anthropic' }));
      expect(read.SecretString).toBe('sk-local-2');
    } finally {
      await second.close();
    }
  });

  it('refuses requests that are not signed or not addressed to loopback', async () => {
    const unsigned = await fetch(memory.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.ListSecrets' },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    // fetch cannot set Host; node:http can, as a DNS-rebinding page's browser would.
    const { port } = new URL(memory.endpoint);
    const reboundStatus = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          timeout: 5_000,
          headers: {
            host: `evil.example:${port}`,
            authorization: 'AWS4-HMAC-SHA256 Credential=x',
            'x-amz-target': 'secretsmanager.ListSecrets',
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.end('{}');
    });
    expect(reboundStatus).toBe(403);
  });
});
