import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** s3rver is CommonJS; this is the part of it we use. */
interface S3rverInstance {
  /** Resolves with the server's address. */
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverClass;
/** s3rver's one account: the key pairs it checks request signatures against. */
const account = require('s3rver/lib/models/account').DUMMY_ACCOUNT as {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
};

export interface S3Emulator {
  /** For S3Client with `forcePathStyle`: http://127.0.0.1:<port> */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * s3rver on 127.0.0.1 (its default address is `localhost`), objects kept under `directory`,
 * the named buckets created at start. It knows only the stack's access key and refuses others;
 * s3rver does not verify SigV4 signatures themselves, nor the expiry of a presigned URL: a job URL
 * past its hour still works here, where S3 answers 403 (a known limit of the stand-in).
 */
export async function startS3(options: {
  directory: string;
  buckets: string[];
  credentials: { accessKeyId: string; secretAccessKey: string };
  port?: number;
}): Promise<S3Emulator> {
  await mkdir(options.directory, { recursive: true });
  account.createKeyPair(options.credentials.accessKeyId, options.credentials.secretAccessKey);
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => {
      closed ??= server.close().catch(() => undefined);
      return closed;
    },
  };
}
