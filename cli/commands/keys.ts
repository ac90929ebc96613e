import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { checkNewApiKey, createApiKey, SCOPES, type Scope } from '../../functions/api/auth';
import { createDocumentClient, createDynamoStore } from '../../functions/shared/store/dynamo-store';
import type { CliContext } from '../io';

/**
 * `code-factory keys create`: an operator command that writes the hashed key straight to the
 * table with the AWS SDK (credentials, region and AWS_ENDPOINT_URL_DYNAMODB from the standard
 * environment, or --region/--endpoint) and prints the key once. It is never stored in plaintext.
 */
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

export function registerKeysCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('manage REST API keys (operators)');
  keys
    .command('create')
    .description('create an API key; it is printed once and stored only as a SHA-256 hash')
    .requiredOption('--name <name>', 'who or what uses the key')
    .option('--scopes <list>', `comma separated: ${SCOPES.join(', ')}`, 'runs:read')
    .requiredOption('--repos <patterns>', "comma separated owner/repo globs, e.g. 'acme/*'")
    .option('--table <name>', 'the factory table (default: $TABLE_NAME)')
    .option('--region <region>', 'AWS region (default: the SDK’s)')
    .option('--endpoint <url>', 'DynamoDB endpoint (default: $AWS_ENDPOINT_URL_DYNAMODB or AWS)')
    .option('--json', 'print {apiKey, name, scopes, repoPatterns} as JSON')
    .action(
      async (options: {
        name: string;
        scopes: string;
        repos: string;
        table?: string;
        region?: string;
        endpoint?: string;
        json?: boolean;
      }) => {
        const request = {
          name: options.name,
          scopes: list(options.scopes) as Scope[],
          repoPatterns: list(options.repos),
        };
        const problems = checkNewApiKey(request);
        const table = options.table ?? process.env.TABLE_NAME;
        if (!table) problems.push('table: pass --table or set TABLE_NAME');
        if (problems.length > 0) {
          for (const problem of problems) ctx.io.stderr(`${problem}\n`);
          ctx.exitCode = 1;
          return;
        }
        const client = new DynamoDBClient({
          ...(options.region ? { region: options.region } : {}),
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          maxAttempts: 3,
        });
        try {
          const store = createDynamoStore({
            doc: createDocumentClient(client),
            tableName: table as string,
            clock: { now: () => Date.now() },
          });
          const { apiKey, record } = await createApiKey(store, request);
          if (options.json) {
            ctx.io.stdout(
              `${JSON.stringify({ apiKey, name: record.name, scopes: record.scopes, repoPatterns: record.repoPatterns })}\n`,
            );
          } else {
            ctx.io.stderr(
              `API key "${record.name}" (${record.scopes.join(', ')} on ${record.repoPatterns.join(', ')}); shown once, store it now:\n`,
            );
            ctx.io.stdout(`${apiKey}\n`);
          }
          ctx.exitCode = 0;
        } catch (error) {
          ctx.io.stderr(
            `code-factory: could not store the key: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          ctx.exitCode = 1;
        } finally {
          client.destroy();
        }
      },
    );
}
