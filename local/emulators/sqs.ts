import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  QueueAttributeName,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type BuildAppOptions, buildApp } from 'fauxqs';
import { FAKE_CREDENTIALS, LOCAL_REGION } from './dynamodb';

export interface SqsEmulator {
  /** http://127.0.0.1:<port>; queue URLs are http://127.0.0.1:<port>/000000000000/<name>. */
  endpoint: string;
  /**
   * The bodies sent to a queue (by its name), oldest first, the last MAX_SENT_KEPT of them: what
   * the queue received, for tests and the console, as SQS itself would hold it.
   */
  sent(queueName: string): string[];
  close(): Promise<void>;
}

const MAX_SENT_KEPT = 1_000;

/**
 * Starts fauxqs (SQS JSON protocol, in memory) on 127.0.0.1 only. fauxqs' own `startFauxqs()`
 * binds 0.0.0.0, so the Fastify app from `buildApp()` is listened on loopback here instead.
 */
export async function startSqs(options: { port?: number } = {}): Promise<SqsEmulator> {
  const app = buildApp({ logger: false, defaultRegion: LOCAL_REGION, stores: await loopbackStores() });
  const sent = new Map<string, string[]>();
  const record = (queueUrl: unknown, body: unknown) => {
    if (typeof queueUrl !== 'string' || typeof body !== 'string') return;
    const name = queueUrl.split('/').at(-1) ?? '';
    const bodies = sent.get(name) ?? [];
    bodies.push(body);
    if (bodies.length > MAX_SENT_KEPT) bodies.shift();
    sent.set(name, bodies);
  };
  // SDK v3 speaks the JSON protocol: `X-Amz-Target: AmazonSQS.SendMessage[Batch]`.
  app.addHook('preHandler', async (request: { headers: Record<string, unknown>; body: unknown }) => {
    const target = request.headers['x-amz-target'];
    const body = request.body as { QueueUrl?: unknown; MessageBody?: unknown; Entries?: unknown } | null;
    if (!body || typeof body !== 'object') return;
    if (target === 'AmazonSQS.SendMessage') record(body.QueueUrl, body.MessageBody);
    if (target === 'AmazonSQS.SendMessageBatch' && Array.isArray(body.Entries)) {
      for (const entry of body.Entries as Array<{ MessageBody?: unknown }>)
        record(body.QueueUrl, entry.MessageBody);
    }
  });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    sent: (queueName) => [...(sent.get(queueName) ?? [])],
    close(): Promise<void> {
      // buildApp sets forceCloseConnections and cancels pending long polls on close.
      closed ??= Promise.resolve(app.close()).then(() => undefined);
      return closed;
    },
  };
}

type Stores = NonNullable<BuildAppOptions['stores']>;

/**
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/…` unless its store's `host` is empty,
 * in which case it uses the request's Host header (`127.0.0.1:<port>`). The SDK sends requests to
 * the QueueUrl's host when the endpoint comes only from AWS_ENDPOINT_URL_SQS (as in the handlers),
 * and `sqs.us-east-1.localhost` does not resolve here, so the stores are built with an empty host.
 * The store classes are not in the package's exports map: they are loaded from its files
 * (fauxqs is pinned at 1.9.2, whose layout this relies on).
 */
async function loopbackStores(): Promise<Stores> {
  const distDir = fauxqsDistDir();
  const load = async <T>(file: string, name: string): Promise<new () => T> => {
    const module = (await import(pathToFileURL(join(distDir, file)).href)) as Record<string, unknown>;
    const storeClass = module[name];
    if (typeof storeClass !== 'function') throw new Error(`fauxqs ${file} has no ${name}`);
    return storeClass as new () => T;
  };
  const SqsStore = await load<Stores['sqsStore']>('sqs/sqsStore.js', 'SqsStore');
  const SnsStore = await load<Stores['snsStore']>('sns/snsStore.js', 'SnsStore');
  const S3Store = await load<Stores['s3Store']>('s3/s3Store.js', 'S3Store');
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  return { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() };
}

function fauxqsDistDir(): string {
  const searchPaths = createRequire(import.meta.url).resolve.paths('fauxqs') ?? [];
  for (const nodeModules of searchPaths) {
    const dist = join(nodeModules, 'fauxqs', 'dist');
    if (existsSync(join(dist, 'sqs', 'sqsStore.js'))) return dist;
  }
  throw new Error('fauxqs is not installed (looked for fauxqs/dist/sqs/sqsStore.js)');
}

export interface QueuePairOptions {
  name: string;
  dlqName: string;
  /** Receives after which SQS moves a message to the DLQ (AWS: 1–1000). */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /** How long the queue keeps a message (SQS default 4 days). */
  retentionSeconds?: number;
  /** The DLQ consumer's visibility timeout (SQS default 30 s). */
  dlqVisibilityTimeoutSeconds?: number;
}

export interface QueuePair {
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
}

/** 14 days, the SQS maximum: a DLQ keeps what it holds for as long as SQS allows. */
const DLQ_RETENTION_SECONDS = 1_209_600;

/**
 * Creates a DLQ and a queue whose RedrivePolicy sends a message there after `maxReceiveCount`
 * receives, through the real SQS client. fauxqs honours RedrivePolicy as SQS does: the move
 * happens on the receive that would exceed maxReceiveCount. CreateQueue with identical attributes
 * is idempotent, so calling this again on a running emulator is harmless.
 */
export async function createQueues(endpoint: string, options: QueuePairOptions): Promise<QueuePair> {
  if (!Number.isInteger(options.maxReceiveCount) || options.maxReceiveCount < 1) {
    throw new RangeError('maxReceiveCount must be a positive integer');
  }
  if (!Number.isInteger(options.visibilityTimeoutSeconds) || options.visibilityTimeoutSeconds < 0) {
    throw new RangeError('visibilityTimeoutSeconds must be a non-negative integer');
  }
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
  try {
    const dlq = await createQueue(client, options.dlqName, {
      MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
      ...(options.dlqVisibilityTimeoutSeconds === undefined
        ? {}
        : { VisibilityTimeout: String(options.dlqVisibilityTimeoutSeconds) }),
    });
    const queue = await createQueue(client, options.name, {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      ...(options.retentionSeconds === undefined
        ? {}
        : { MessageRetentionPeriod: String(options.retentionSeconds) }),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: dlq.arn,
        maxReceiveCount: options.maxReceiveCount,
      }),
    });
    return { queueUrl: queue.url, queueArn: queue.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
  } finally {
    client.destroy();
  }
}

/** CreateQueue, then the new queue's ARN. */
async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [QueueAttributeName.QueueArn] }),
  );
  if (!Attributes?.QueueArn) throw new Error(`no QueueArn for ${QueueUrl}`);
  return { url: QueueUrl, arn: Attributes.QueueArn };
}
