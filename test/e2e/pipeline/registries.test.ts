import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { sampleScript } from '../../../local/model/scripts';
import { type Stack, WORKSPACE_BUCKET } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import { decideRun, eventsOf, finished, sandbox, startScenario } from './support';

/**
 * A private registry token (deployment config `sandbox.registries`, a secret of the local secrets
 * store) through the whole stack: the setup function gives it to `environment.setup`, the checks
 * do not see it, and neither the cached setup output nor the execution history holds it.
 */
const TOKEN = 'npm_e2e_registry_token_5f0c2a9d';
const SECRET = 'code-factory/registry/npm-example';
const hash = createHash('sha256').update(TOKEN).digest('hex');

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({
    sandboxRegistries: [{ host: 'npm.example.test', secretId: SECRET, env: 'NPM_TOKEN' }],
  });
  const secrets = new SecretsManagerClient({
    endpoint: stack.endpoints.secretsmanager,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
  });
  await secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: TOKEN }));
  secrets.destroy();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('private registries', () => {
  it('give the token to environment.setup only', async () => {
    const yml = [
      'version: 1',
      'environment:',
      '  setup:',
      // What an install does with it, and what a careless script leaves behind.
      `    - mkdir -p out && printf %s "$NPM_TOKEN" | sha256sum | cut -d' ' -f1 > out/token-hash && grep -q 'npm.example.test/:_authToken=' ~/.npmrc && echo "//npm.example.test/:_authToken=$NPM_TOKEN" > .npmrc && echo "$NPM_TOKEN" > out/copy.txt`,
      '  checks:',
      `    - test "$(cat out/token-hash)" = "${hash}"`,
      `    - test -z "$NPM_TOKEN" && test ! -e ~/.npmrc && test ! -e .npmrc && test ! -e out/copy.txt`,
      '    - node --test',
      '',
    ].join('\n');
    const box = await sandbox(stack, 'sandbox-registry', { files: { '.github/factory.yml': yml } });
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    const types = (await eventsOf(stack, run.runId)).map((e) => e.type);
    expect(types).toContain('sandbox.checks-passed');
    expect(types).not.toContain('sandbox.checks-failed');

    const s3 = new S3Client({
      endpoint: stack.endpoints.s3,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: FAKE_CREDENTIALS,
    });
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: WORKSPACE_BUCKET,
        Prefix: `setup-cache/${box.full.toLowerCase()}/`,
      }),
    );
    expect(listed.Contents ?? []).toHaveLength(1);
    const archive = await s3.send(
      new GetObjectCommand({ Bucket: WORKSPACE_BUCKET, Key: listed.Contents?.[0]?.Key }),
    );
    const tar = gunzipSync(Buffer.from(await (archive.Body?.transformToByteArray() ?? new Uint8Array())));
    s3.destroy();
    expect(tar.includes(Buffer.from('out/token-hash'))).toBe(true);
    expect(tar.includes(Buffer.from(TOKEN))).toBe(false);

    const executionArn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${run.runId}`;
    const history = await stack.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const text = JSON.stringify(history.events);
    expect(text).toContain('ImplementSetup');
    expect(text).not.toContain(TOKEN);
  }, 120_000);
});
