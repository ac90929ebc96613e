import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Blobs } from '../../../functions/shared/adapters/blobs';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { type S3Emulator, startS3 } from '../../../local/emulators/s3';

let dir: string;
let s3: S3Emulator;
const client = (credentials: { accessKeyId: string; secretAccessKey: string } = FAKE_CREDENTIALS) =>
  new S3Client({ endpoint: s3.endpoint, region: LOCAL_REGION, credentials, forcePathStyle: true });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 's3-emulator-'));
  s3 = await startS3({ directory: dir, buckets: ['workspaces'], credentials: FAKE_CREDENTIALS });
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local S3 (s3rver) behind the Blobs port', () => {
  it('listens on loopback only', () => {
    expect(new URL(s3.endpoint).hostname).toBe('127.0.0.1');
  });

  it('stores, reads back and knows objects by key; a missing key is undefined', async () => {
    const blobs = new S3Blobs(client(), 'workspaces');
    const body = new Uint8Array(300_000).map((_, i) => i % 251);
    await blobs.put('runs/r1/base.tar.gz', body, 'application/gzip');
    expect(await blobs.exists('runs/r1/base.tar.gz')).toBe(true);
    expect(Buffer.from((await blobs.get('runs/r1/base.tar.gz')) ?? [])).toEqual(Buffer.from(body));
    expect(await blobs.get('runs/r1/missing')).toBeUndefined();
    expect(await blobs.exists('runs/r1/missing')).toBe(false);
  });

  it('refuses an access key it does not know, as S3 does', async () => {
    const stranger = new S3Blobs(client({ accessKeyId: 'stranger', secretAccessKey: 'local' }), 'workspaces');
    await expect(stranger.put('x', new Uint8Array([1]))).rejects.toThrow(/Access Key Id/i);
  });
});
