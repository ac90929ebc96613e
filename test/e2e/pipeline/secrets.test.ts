import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import {
  LEAKED_SECRETS_PATH,
  secretForms,
  secretLeakScenario,
  secretsText,
} from '../../../local/model/scripts';
import { TABLE_NAME, type Stack } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import {
  commitFiles,
  commitMessage,
  decideRun,
  fileAt,
  finished,
  issueComments,
  pullCommits,
  pullOf,
  sandbox,
  startScenario,
} from './support';

/**
 * Issue 22's injection scenario: an issue carrying fake credentials in every form (prefixed,
 * base64, percent-encoded, a private key block and body) and a model fooled into committing the
 * same. The scan finds them all; none reaches a prompt, a stored item, a comment or the PR.
 */

// Every log line the handlers can write, so the sweep below has something to search.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
});

let stack: Stack;
const logged: string[] = [];
const spies: MockInstance[] = [];

/** Every line the handlers and the stack write (Powertools logs JSON lines to stdout/stderr). */
function captureLogs(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    spies.push(
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
        logged.push(String(chunk));
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write),
    );
  }
}

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  for (const spy of spies) spy.mockRestore();
  await stack?.stop();
});

/** Every item of the factory's table, as text. */
async function tableText(): Promise<string> {
  const client = new DynamoDBClient({
    endpoint: stack.endpoints.dynamodb,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
  });
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < 100; page++) {
    const result = await client.send(
      new ScanCommand({ TableName: TABLE_NAME, ...(start ? { ExclusiveStartKey: start as never } : {}) }),
    );
    items.push(...(result.Items ?? []).map((item) => JSON.stringify(item)));
    start = result.LastEvaluatedKey;
    if (!start) break;
  }
  client.destroy();
  return items.join('\n');
}

describe('secrets in the issue and in the change', () => {
  it('redacts the issue’s before any prompt, refuses the model’s, and publishes none', async () => {
    const body = [
      "Please add `slugify(text)` in `src/slugify.js` and export it from `src/index.js`, with tests in `test/slugify.test.js`. slugify('  Hello, World! ') is 'hello-world'.",
      '',
      'Our credentials, so you can test against production:',
      secretsText('I'),
    ].join('\n');
    captureLogs();
    const box = await sandbox(stack, 'secrets', { title: 'Add a slugify helper', body });
    const run = await startScenario(stack, box, secretLeakScenario);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');

    const events = (await stack.store.listEvents(run.runId, { limit: 500 })).items;
    // The issue's secrets were redacted (and audited) before the plan prompt...
    const redactions = events.filter((e) => e.type === 'secrets.redacted');
    expect(redactions.length).toBeGreaterThan(0);
    expect(redactions[0]?.data).toMatchObject({ source: 'issue', fields: ['body'] });
    expect(redactions[0]?.data?.kinds).toEqual(
      expect.arrayContaining([
        'aws-access-key-id',
        'github-token',
        'github-token (base64)',
        'private-key',
        'private-key-body',
        'private-key (percent-encoded)',
        'basic-auth-url',
      ]),
    );
    // ...and the model's copy of them was refused by the boundary, then removed.
    const violated = events.find((e) => e.type === 'boundary.violated');
    expect(violated?.data?.rules).toEqual(['secret']);

    // Nothing stored holds the issue's secrets: not the prompts (conversation turns), the run, the
    // events or any other item. (The model's own, different ones are in its tool calls, by design.)
    const stored = await tableText();
    for (const form of secretForms('I')) expect(stored).not.toContain(form);
    // Nor does any log line, of the issue's secrets or of the model's.
    expect(logged.length).toBeGreaterThan(0);
    for (const form of [...secretForms('I'), ...secretForms('M')])
      expect(logged.join('')).not.toContain(form);
    expect(stored).toContain('[REDACTED:github-token]');

    // Nothing published holds any of them.
    const texts = (await issueComments(stack, box)).map((c) => c.body);
    const pull = await pullOf(stack, box, done.prNumber as number);
    texts.push(String(pull.title), String(pull.body ?? ''));
    for (const commit of await pullCommits(stack, box, done.prNumber as number)) {
      texts.push(await commitMessage(stack, box, commit.sha));
      for (const path of await commitFiles(stack, box, commit.sha)) {
        texts.push((await fileAt(stack, box, path, commit.sha)) ?? '');
      }
    }
    for (const form of [...secretForms('I'), ...secretForms('M')])
      expect(texts.join('\n')).not.toContain(form);
    expect(await fileAt(stack, box, LEAKED_SECRETS_PATH)).toBeUndefined();
  }, 90_000);
});
