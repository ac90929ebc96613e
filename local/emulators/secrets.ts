import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsServiceError, serveAwsJson } from './loopback';
import { LOCAL_REGION } from './dynamodb';

/**
 * A small Secrets Manager endpoint (AWS JSON 1.1, `X-Amz-Target: secretsmanager.<Op>`, see
 * loopback.ts) for the real `@aws-sdk/client-secrets-manager`: GetSecretValue, DescribeSecret,
 * CreateSecret, PutSecretValue, ListSecrets. Secrets live in memory and, with a dataDir, in
 * `<dataDir>/secrets.json` (mode 0600, replaced atomically on every change). Values are never
 * logged; errors carry names only.
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
/** Secrets Manager's limit on a secret value. */
const MAX_SECRET_BYTES = 65_536;
const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

interface SecretValue {
  secretString?: string;
  /** base64 */
  secretBinary?: string;
}

interface SecretVersion extends SecretValue {
  versionId: string;
  stages: string[];
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

type Input = Record<string, unknown>;

const invalid = (message: string) => new AwsServiceError('InvalidParameterException', message);
const hasValue = (value: SecretValue) => value.secretString !== undefined || value.secretBinary !== undefined;
const sameValue = (a: SecretValue, b: SecretValue) =>
  a.secretString === b.secretString && a.secretBinary === b.secretBinary;

function secretArn(name: string): string {
  // Like AWS: the name plus a dash and six random characters.
  const suffix = randomBytes(6)
    .toString('base64url')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 6);
  return `arn:aws:secretsmanager:${LOCAL_REGION}:${ACCOUNT_ID}:secret:${name}-${suffix}`;
}

/** The value of a CreateSecret / PutSecretValue request, validated. */
function requestedValue({ SecretString, SecretBinary }: Input): SecretValue {
  if (SecretString !== undefined && SecretBinary !== undefined) {
    throw invalid('Specify either SecretString or SecretBinary, not both');
  }
  if (SecretString === undefined && SecretBinary === undefined) return {};
  const text = SecretString ?? SecretBinary;
  if (typeof text !== 'string') throw invalid('SecretString must be a string, SecretBinary a base64 blob');
  const bytes = SecretString === undefined ? Buffer.from(text, 'base64').length : Buffer.byteLength(text);
  if (bytes > MAX_SECRET_BYTES) throw invalid(`the secret value exceeds ${MAX_SECRET_BYTES} bytes`);
  return SecretString === undefined ? { secretBinary: text } : { secretString: text };
}

function versionIdOf(input: Input): string {
  const token = input.ClientRequestToken;
  if (token === undefined) return randomUUID();
  if (typeof token !== 'string' || token.length < 32 || token.length > 64) {
    throw invalid('ClientRequestToken must be 32 to 64 characters');
  }
  return token;
}

/** What DescribeSecret and ListSecrets say of a secret; they name its version stages differently. */
function describe(secret: SecretRecord, stagesField: 'VersionIdsToStages' | 'SecretVersionsToStages') {
  const labelled = secret.versions.filter((version) => version.stages.length > 0);
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    CreatedDate: secret.createdDate,
    LastChangedDate: secret.lastChangedDate,
    [stagesField]: Object.fromEntries(labelled.map((version) => [version.versionId, version.stages])),
  };
}

/** Makes `version` AWSCURRENT; the previous current becomes AWSPREVIOUS; unlabelled versions are dropped. */
function promote(secret: SecretRecord, version: SecretVersion): void {
  for (const existing of secret.versions) {
    const wasCurrent = existing.stages.includes('AWSCURRENT');
    existing.stages = existing.stages.filter((stage) => stage !== 'AWSPREVIOUS' && stage !== 'AWSCURRENT');
    if (wasCurrent) existing.stages.push('AWSPREVIOUS');
  }
  version.stages = ['AWSCURRENT'];
  secret.versions = secret.versions.filter((existing) => existing.stages.length > 0).concat(version);
  secret.lastChangedDate = version.createdDate;
}

/** ListSecrets `Filters`: only `name` (prefix match, as on AWS) is supported. */
function nameFilter(filters: unknown): (secret: SecretRecord) => boolean {
  if (filters === undefined) return () => true;
  if (!Array.isArray(filters)) throw invalid('Filters must be a list');
  const prefixes: string[] = [];
  for (const filter of filters as Array<{ Key?: unknown; Values?: unknown }>) {
    if (filter?.Key !== 'name' || !Array.isArray(filter.Values)) {
      throw invalid('only the name filter is supported locally');
    }
    prefixes.push(...filter.Values.filter((value): value is string => typeof value === 'string'));
  }
  return (secret) => prefixes.length === 0 || prefixes.some((prefix) => secret.name.startsWith(prefix));
}

export async function startSecrets(options: SecretsOptions = {}): Promise<SecretsEmulator> {
  const secrets = new Map<string, SecretRecord>();
  const file = options.dataDir ? join(options.dataDir, 'secrets.json') : undefined;
  if (options.dataDir && file) {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '{}';
      throw error;
    });
    for (const secret of (JSON.parse(text) as { secrets?: SecretRecord[] }).secrets ?? []) {
      secrets.set(secret.name, secret);
    }
  }

  let saving: Promise<void> = Promise.resolve();
  /** Serialised writes: temp file (0600) then rename, so a crash never leaves half a file. */
  const save = (): Promise<void> => {
    if (!file) return Promise.resolve();
    const text = JSON.stringify({ secrets: [...secrets.values()] });
    const next = saving.then(async () => {
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, text, { mode: 0o600 });
      await chmod(temp, 0o600);
      await rename(temp, file);
    });
    saving = next.catch(() => {});
    return next;
  };

  const find = (secretId: unknown): SecretRecord => {
    if (typeof secretId !== 'string' || secretId === '') throw invalid('SecretId is required');
    const secret = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.arn === secretId);
    if (secret) return secret;
    throw new AwsServiceError(
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
    );
  };

  const ops = {
    GetSecretValue(input: Input) {
      const secret = find(input.SecretId);
      const { VersionId, VersionStage } = input;
      const version = secret.versions.find((candidate) =>
        typeof VersionId === 'string'
          ? candidate.versionId === VersionId &&
            (typeof VersionStage !== 'string' || candidate.stages.includes(VersionStage))
          : candidate.stages.includes(typeof VersionStage === 'string' ? VersionStage : 'AWSCURRENT'),
      );
      if (!version || !hasValue(version)) {
        throw new AwsServiceError(
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

    DescribeSecret(input: Input) {
      return describe(find(input.SecretId), 'VersionIdsToStages');
    },

    async CreateSecret(input: Input) {
      const { Name, Description } = input;
      if (typeof Name !== 'string' || !NAME_PATTERN.test(Name)) {
        throw invalid('Name must be 1-512 characters of A-Za-z0-9/_+=.@-');
      }
      if (Description !== undefined && typeof Description !== 'string') {
        throw invalid('Description must be a string');
      }
      const value = requestedValue(input);
      const versionId = versionIdOf(input);
      const existing = secrets.get(Name);
      if (existing) {
        const retried = existing.versions.find((version) => version.versionId === versionId);
        // A retried CreateSecret (same token, same value) answers like the first one, as on AWS.
        if (retried && sameValue(retried, value)) {
          return { ARN: existing.arn, Name: existing.name, VersionId: retried.versionId };
        }
        throw new AwsServiceError(
          'ResourceExistsException',
          `The operation failed because the secret ${Name} already exists.`,
        );
      }
      const now = Date.now() / 1000;
      const secret: SecretRecord = {
        name: Name,
        arn: secretArn(Name),
        ...(Description !== undefined ? { description: Description } : {}),
        createdDate: now,
        lastChangedDate: now,
        versions: [],
      };
      if (hasValue(value)) promote(secret, { versionId, stages: [], createdDate: now, ...value });
      secrets.set(Name, secret);
      await save();
      return { ARN: secret.arn, Name: secret.name, ...(hasValue(value) ? { VersionId: versionId } : {}) };
    },

    async PutSecretValue(input: Input) {
      const secret = find(input.SecretId);
      const value = requestedValue(input);
      if (!hasValue(value)) {
        throw new AwsServiceError(
          'InvalidRequestException',
          'You must provide either SecretString or SecretBinary.',
        );
      }
      if (input.VersionStages !== undefined) {
        throw new AwsServiceError(
          'InvalidRequestException',
          'VersionStages is not supported by the local endpoint',
        );
      }
      const versionId = versionIdOf(input);
      let version = secret.versions.find((candidate) => candidate.versionId === versionId);
      if (version && !sameValue(version, value)) {
        throw new AwsServiceError(
          'ResourceExistsException',
          'A version with this ClientRequestToken already exists.',
        );
      }
      if (!version) {
        version = { versionId, stages: [], createdDate: Date.now() / 1000, ...value };
        promote(secret, version);
        await save();
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: version.stages };
    },

    ListSecrets(input: Input) {
      const max = input.MaxResults ?? 100;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
        throw invalid('MaxResults must be between 1 and 100');
      }
      const start = input.NextToken === undefined ? 0 : Number.parseInt(String(input.NextToken), 10);
      if (!Number.isInteger(start) || start < 0) {
        throw new AwsServiceError('InvalidNextTokenException', 'Invalid NextToken');
      }
      const all = [...secrets.values()]
        .sort((a, b) => a.name.localeCompare(b.name))
        .filter(nameFilter(input.Filters));
      const page = all.slice(start, start + max);
      return {
        SecretList: page.map((secret) => describe(secret, 'SecretVersionsToStages')),
        ...(start + page.length < all.length ? { NextToken: String(start + page.length) } : {}),
      };
    },
  };

  for (const [name, value] of Object.entries(options.seed ?? {})) {
    if (!secrets.has(name)) await ops.CreateSecret({ Name: name, SecretString: value });
  }
  const server = await serveAwsJson({
    service: 'secretsmanager',
    version: '1.1',
    operations: ops,
    ...(options.port !== undefined && { port: options.port }),
  });
  const value = async (name: string) =>
    secrets.has(name) ? ops.GetSecretValue({ SecretId: name }).SecretString : undefined;
  return {
    endpoint: server.endpoint,
    value,
    async set(name, next) {
      if (!secrets.has(name)) await ops.CreateSecret({ Name: name, SecretString: next });
      else if ((await value(name)) !== next) await ops.PutSecretValue({ SecretId: name, SecretString: next });
    },
    async close() {
      await server.close();
      await saving;
    },
  };
}
