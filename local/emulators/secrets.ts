import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { LOCAL_REGION } from './dynamodb';

/**
 * A small Secrets Manager endpoint (AWS JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`) for the
 * real `@aws-sdk/client-secrets-manager`: GetSecretValue, DescribeSecret, CreateSecret,
 * PutSecretValue, ListSecrets. Secrets live in memory and, with a dataDir, in
 * `<dataDir>/secrets.json` (mode 0600, replaced atomically on every change). Values are never
 * logged; errors carry names only. Signatures are not verified (the credentials are fake), but
 * a signed request shape is required, and only loopback Host headers are accepted so a web page
 * cannot reach it through DNS rebinding.
 */

export interface SecretsEmulator {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** The current string value of a secret, or undefined when there is none. */
  value(name: string): Promise<string | undefined>;
  /** Creates the secret, or gives it a new current value when it differs. */
  set(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}

export interface SecretsOptions {
  port?: number;
  /** Persist secrets in `<dataDir>/secrets.json`. Without it they live in memory only. */
  dataDir?: string;
  /** Secrets created at start when absent (an existing value is kept). */
  seed?: Record<string, string>;
}

const ACCOUNT_ID = '000000000000';
const MAX_BODY_BYTES = 1_048_576;
/** Secrets Manager's limit on a secret value. */
const MAX_SECRET_BYTES = 65_536;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const FILE_NAME = 'secrets.json';

interface SecretVersion {
  versionId: string;
  stages: string[];
  secretString?: string;
  /** base64 */
  secretBinary?: string;
  createdDate: number;
}

interface SecretRecord {
  name: string;
  arn: string;
  description?: string;
  createdDate: number;
  lastChangedDate: number;
  versions: SecretVersion[];
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Input = Record<string, unknown>;

class SecretStore {
  private readonly secrets = new Map<string, SecretRecord>();
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly file?: string) {}

  async load(): Promise<void> {
    if (!this.file) return;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const parsed = JSON.parse(text) as { secrets?: SecretRecord[] };
    for (const secret of parsed.secrets ?? []) this.secrets.set(secret.name, secret);
  }

  /** Serialised writes: temp file (0600) then rename, so a crash never leaves half a file. */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const text = JSON.stringify({ secrets: [...this.secrets.values()] });
    const next = this.saving.then(async () => {
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    });
    this.saving = next.catch(() => {});
    return next;
  }

  /** Resolves once every write queued so far has reached the disk (or failed). */
  flush(): Promise<void> {
    return this.saving;
  }

  find(secretId: unknown): SecretRecord {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new AwsError('InvalidParameterException', 'SecretId is required');
    }
    const byName = this.secrets.get(secretId);
    if (byName) return byName;
    for (const secret of this.secrets.values()) if (secret.arn === secretId) return secret;
    throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }

  has(name: string): boolean {
    return this.secrets.has(name);
  }

  add(secret: SecretRecord): void {
    this.secrets.set(secret.name, secret);
  }

  list(): SecretRecord[] {
    return [...this.secrets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

function epochSeconds(): number {
  return Date.now() / 1000;
}

function secretArn(name: string): string {
  // Like AWS: the name plus a dash and six random characters.
  const suffix = randomBytes(6)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 6);
  return `arn:aws:secretsmanager:${LOCAL_REGION}:${ACCOUNT_ID}:secret:${name}-${suffix}`;
}

/** The value of a CreateSecret / PutSecretValue request, validated. */
function requestedValue(input: Input): Pick<SecretVersion, 'secretString' | 'secretBinary'> {
  const { SecretString, SecretBinary } = input;
  if (SecretString !== undefined && SecretBinary !== undefined) {
    throw new AwsError('InvalidParameterException', 'Specify either SecretString or SecretBinary, not both');
  }
  if (typeof SecretString === 'string') {
    if (Buffer.byteLength(SecretString) > MAX_SECRET_BYTES) {
      throw new AwsError('InvalidParameterException', 'SecretString exceeds 65536 bytes');
    }
    return { secretString: SecretString };
  }
  if (typeof SecretBinary === 'string') {
    if (Buffer.from(SecretBinary, 'base64').length > MAX_SECRET_BYTES) {
      throw new AwsError('InvalidParameterException', 'SecretBinary exceeds 65536 bytes');
    }
    return { secretBinary: SecretBinary };
  }
  if (SecretString !== undefined || SecretBinary !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      'SecretString must be a string, SecretBinary a base64 blob',
    );
  }
  return {};
}

function versionIdOf(input: Input): string {
  const token = input.ClientRequestToken;
  if (token === undefined) return randomUUID();
  if (typeof token !== 'string' || token.length < 32 || token.length > 64) {
    throw new AwsError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters');
  }
  return token;
}

function sameValue(
  version: SecretVersion,
  value: Pick<SecretVersion, 'secretString' | 'secretBinary'>,
): boolean {
  return version.secretString === value.secretString && version.secretBinary === value.secretBinary;
}

function versionIdsToStages(secret: SecretRecord): Record<string, string[]> {
  return Object.fromEntries(
    secret.versions.filter((version) => version.stages.length > 0).map((v) => [v.versionId, v.stages]),
  );
}

function describe(secret: SecretRecord) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    CreatedDate: secret.createdDate,
    LastChangedDate: secret.lastChangedDate,
  };
}

/** Makes `version` AWSCURRENT; the previous current becomes AWSPREVIOUS; unlabelled versions are dropped. */
function promote(secret: SecretRecord, version: SecretVersion): void {
  for (const existing of secret.versions) {
    existing.stages = existing.stages.filter((stage) => stage !== 'AWSPREVIOUS');
    if (existing.stages.includes('AWSCURRENT')) {
      existing.stages = existing.stages.filter((stage) => stage !== 'AWSCURRENT').concat('AWSPREVIOUS');
    }
  }
  version.stages = ['AWSCURRENT'];
  secret.versions = secret.versions.filter((existing) => existing.stages.length > 0).concat(version);
  secret.lastChangedDate = version.createdDate;
}

function operations(store: SecretStore): Record<string, (input: Input) => Promise<unknown>> {
  return {
    async GetSecretValue(input) {
      const secret = store.find(input.SecretId);
      const { VersionId, VersionStage } = input;
      const version = secret.versions.find((candidate) =>
        typeof VersionId === 'string'
          ? candidate.versionId === VersionId &&
            (typeof VersionStage !== 'string' || candidate.stages.includes(VersionStage))
          : candidate.stages.includes(typeof VersionStage === 'string' ? VersionStage : 'AWSCURRENT'),
      );
      if (!version || (version.secretString === undefined && version.secretBinary === undefined)) {
        throw new AwsError(
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret value for the requested version or staging label.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
        ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary } : {}),
        VersionStages: version.stages,
        CreatedDate: version.createdDate,
      };
    },

    async DescribeSecret(input) {
      const secret = store.find(input.SecretId);
      return { ...describe(secret), VersionIdsToStages: versionIdsToStages(secret) };
    },

    async CreateSecret(input) {
      const { Name, Description } = input;
      if (typeof Name !== 'string' || !NAME_PATTERN.test(Name)) {
        throw new AwsError('InvalidParameterException', 'Name must be 1-512 characters of A-Za-z0-9/_+=.@-');
      }
      if (Description !== undefined && typeof Description !== 'string') {
        throw new AwsError('InvalidParameterException', 'Description must be a string');
      }
      const value = requestedValue(input);
      const versionId = versionIdOf(input);
      if (store.has(Name)) {
        const existing = store.find(Name);
        const retried = existing.versions.find((version) => version.versionId === versionId);
        // A retried CreateSecret (same token, same value) answers like the first one, as on AWS.
        if (retried && sameValue(retried, value)) {
          return { ARN: existing.arn, Name: existing.name, VersionId: retried.versionId };
        }
        throw new AwsError(
          'ResourceExistsException',
          `The operation failed because the secret ${Name} already exists.`,
        );
      }
      const now = epochSeconds();
      const secret: SecretRecord = {
        name: Name,
        arn: secretArn(Name),
        ...(Description !== undefined ? { description: Description } : {}),
        createdDate: now,
        lastChangedDate: now,
        versions: [],
      };
      const hasValue = value.secretString !== undefined || value.secretBinary !== undefined;
      if (hasValue) promote(secret, { versionId, stages: [], createdDate: now, ...value });
      store.add(secret);
      await store.save();
      return { ARN: secret.arn, Name: secret.name, ...(hasValue ? { VersionId: versionId } : {}) };
    },

    async PutSecretValue(input) {
      const secret = store.find(input.SecretId);
      const value = requestedValue(input);
      if (value.secretString === undefined && value.secretBinary === undefined) {
        throw new AwsError(
          'InvalidRequestException',
          'You must provide either SecretString or SecretBinary.',
        );
      }
      if (input.VersionStages !== undefined) {
        throw new AwsError('InvalidRequestException', 'VersionStages is not supported by the local endpoint');
      }
      const versionId = versionIdOf(input);
      const existing = secret.versions.find((version) => version.versionId === versionId);
      if (existing) {
        if (!sameValue(existing, value)) {
          throw new AwsError(
            'ResourceExistsException',
            'A version with this ClientRequestToken already exists.',
          );
        }
      } else {
        promote(secret, { versionId, stages: [], createdDate: epochSeconds(), ...value });
        await store.save();
      }
      const version = secret.versions.find((candidate) => candidate.versionId === versionId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        VersionStages: version?.stages ?? [],
      };
    },

    async ListSecrets(input) {
      const max = input.MaxResults === undefined ? 100 : input.MaxResults;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
        throw new AwsError('InvalidParameterException', 'MaxResults must be between 1 and 100');
      }
      const start = input.NextToken === undefined ? 0 : Number.parseInt(String(input.NextToken), 10);
      if (!Number.isInteger(start) || start < 0)
        throw new AwsError('InvalidNextTokenException', 'Invalid NextToken');
      const all = store.list().filter(nameFilter(input.Filters));
      const page = all.slice(start, start + max);
      const nextStart = start + page.length;
      return {
        SecretList: page.map((secret) => ({
          ...describe(secret),
          SecretVersionsToStages: versionIdsToStages(secret),
        })),
        ...(nextStart < all.length ? { NextToken: String(nextStart) } : {}),
      };
    },
  };
}

/** ListSecrets `Filters`: only `name` (prefix match, as on AWS) is supported. */
function nameFilter(filters: unknown): (secret: SecretRecord) => boolean {
  if (filters === undefined) return () => true;
  if (!Array.isArray(filters)) throw new AwsError('InvalidParameterException', 'Filters must be a list');
  const prefixes: string[] = [];
  for (const filter of filters as Array<{ Key?: unknown; Values?: unknown }>) {
    if (filter?.Key !== 'name' || !Array.isArray(filter.Values)) {
      throw new AwsError('InvalidParameterException', 'only the name filter is supported locally');
    }
    prefixes.push(...filter.Values.filter((value): value is string => typeof value === 'string'));
  }
  return (secret) => prefixes.length === 0 || prefixes.some((prefix) => secret.name.startsWith(prefix));
}

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: AwsError): void {
  send(response, error.status, { __type: error.type, message: error.message }, error.type);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AwsError('InvalidRequestException', 'request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSecrets(options: SecretsOptions = {}): Promise<SecretsEmulator> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const store = new SecretStore(options.dataDir ? join(options.dataDir, FILE_NAME) : undefined);
  await store.load();
  const ops = operations(store);
  for (const [name, value] of Object.entries(options.seed ?? {})) {
    if (!store.has(name)) await ops.CreateSecret?.({ Name: name, SecretString: value });
  }

  let port = 0;
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent)
        sendError(response, new AwsError('InternalServiceError', 'internal error', 500));
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return sendError(response, new AwsError('AccessDeniedException', 'unexpected Host header', 403));
    }
    if (request.method !== 'POST') {
      return sendError(response, new AwsError('UnknownOperationException', 'only POST is supported', 404));
    }
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      return sendError(
        response,
        new AwsError('MissingAuthenticationTokenException', 'request is not signed', 403),
      );
    }
    const target = request.headers['x-amz-target'];
    const operation =
      typeof target === 'string' && target.startsWith('secretsmanager.') ? target.slice(15) : '';
    const run = Object.hasOwn(ops, operation) ? ops[operation] : undefined;
    if (!run) return sendError(response, new AwsError('UnknownOperationException', 'unknown operation'));
    let input: Input;
    try {
      const body = await readBody(request);
      const parsed: unknown = body === '' ? {} : JSON.parse(body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      input = parsed as Input;
    } catch (error) {
      return sendError(
        response,
        error instanceof AwsError
          ? error
          : new AwsError('SerializationException', 'body is not a JSON object'),
      );
    }
    try {
      send(response, 200, await run(input));
    } catch (error) {
      if (error instanceof AwsError) return sendError(response, error);
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const value = async (name: string): Promise<string | undefined> => {
    if (!store.has(name)) return undefined;
    const current = (await ops.GetSecretValue?.({ SecretId: name })) as { SecretString?: string } | undefined;
    return current?.SecretString;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    value,
    async set(name, next) {
      if (!store.has(name)) await ops.CreateSecret?.({ Name: name, SecretString: next });
      else if ((await value(name)) !== next)
        await ops.PutSecretValue?.({ SecretId: name, SecretString: next });
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }).then(() => store.flush());
      return closed;
    },
  };
}
