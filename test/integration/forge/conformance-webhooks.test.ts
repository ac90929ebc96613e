import { createRequire } from 'node:module';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../../functions/webhook/triggers';
import {
  type Forge,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  startForge,
} from '../../../local/forge';
import { makeWebhook, signedEvent } from '../../unit/webhook/helpers';
import { isAllowed } from './conformance-allowlist';
import { octokitFor, WEBHOOK_SECRET } from './support';

const require = createRequire(import.meta.url);
const schema = require('@octokit/webhooks-schemas') as { definitions: Record<string, unknown> };
const examples = require('@octokit/webhooks-examples') as Array<{
  name: string;
  examples: Array<Record<string, unknown>>;
}>;

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(schema, 'webhooks');

/** Failures `webhook event.action: instancePath message` for one payload, allow-listed ones dropped. */
function validate(event: string, payload: Record<string, unknown>): string[] {
  const definition = `${event}$${typeof payload.action === 'string' ? payload.action : 'event'}`;
  const where = `webhook ${definition.replace('$', '.')}`;
  if (!(definition in schema.definitions)) return [`${where}: no schema definition ${definition}`];
  const check = ajv.getSchema(`webhooks#/definitions/${definition}`);
  if (!check) return [`${where}: schema did not compile`];
  if (check(payload)) return [];
  return (check.errors ?? [])
    .filter((error) => !isAllowed(where, error.instancePath))
    .map((error) => {
      const extra = (error.params as { additionalProperty?: string }).additionalProperty;
      return `${where}: ${error.instancePath || '/'}${extra ? `/${extra}` : ''} ${error.message ?? ''}`;
    });
}

/** The events the factory subscribes to (see functions/webhook/triggers.ts and the app manifest). */
const HANDLED = [
  'issues',
  'issue_comment',
  'pull_request',
  'pull_request_review',
  'check_suite',
  'workflow_run',
];

describe("the forge's webhook payloads against @octokit/webhooks-schemas", () => {
  let forge: Forge;
  const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

  beforeAll(async () => {
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 20_000 });
    await forge.seedSample();
    const bot = octokitFor(forge.apiUrl, forge.botToken);
    // What a run makes happen: a label, comments, a draft PR with CI, a new head, ready, review, merge.
    await forge.actions.labelIssue('bob', SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_ISSUE.number, SAMPLE_LABEL);
    await forge.actions.comment('bob', SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_ISSUE.number, '/factory run');
    const branch = `factory/${SAMPLE_ISSUE.number}-conformance`;
    await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      branch,
      { 'a.js': '1;\n' },
      'One',
    );
    const pull = await bot.rest.pulls.create({
      ...repo,
      title: 'Conformance',
      head: branch,
      base: 'main',
      draft: true,
    });
    await forge.waitForIdle();
    const head = await forge.actions.pushCommit(
      forge.botLogin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      branch,
      { 'b.js': '2;\n' },
      'Two',
    );
    await forge.waitForIdle();
    await bot.rest.pulls.update({ ...repo, pull_number: pull.data.number, draft: false } as never);
    await bot.rest.pulls.createReview({
      ...repo,
      pull_number: pull.data.number,
      event: 'COMMENT',
      body: 'Looks right',
    });
    await bot.rest.pulls.merge({ ...repo, pull_number: pull.data.number, sha: head, merge_method: 'squash' });
    await forge.waitForIdle();
  }, 60_000);

  afterAll(async () => {
    await forge?.close();
  });

  it('emits the events the factory consumes', () => {
    const seen = new Set(forge.deliveries().map((d) => `${d.event}.${d.action ?? ''}`));
    for (const expected of [
      'issues.labeled',
      'issue_comment.created',
      'pull_request.opened',
      'pull_request.synchronize',
      'pull_request.closed',
      'pull_request_review.submitted',
      'check_suite.completed',
      // Every ref change, as on GitHub (the factory ignores these).
      'push.',
      'create.',
    ]) {
      expect(seen).toContain(expected);
    }
  });

  it('every delivered payload validates against its schema definition', () => {
    const failures = forge.deliveries().flatMap((d) => validate(d.event, JSON.parse(d.body)));
    expect([...new Set(failures)]).toEqual([]);
  });

  it('reports a required field removed from a payload', () => {
    const labeled = forge.deliveries().find((d) => d.event === 'issues' && d.action === 'labeled');
    const payload = JSON.parse(labeled?.body ?? '{}') as Record<string, unknown>;
    delete payload.issue;
    expect(validate('issues', payload).join('\n')).toContain("must have required property 'issue'");
  });
});

describe("the factory's webhook parsing against @octokit/webhooks-examples", () => {
  const cases = examples
    .filter((group) => HANDLED.includes(group.name))
    .flatMap((group) => group.examples.map((payload, i) => ({ event: group.name, payload, i })));

  it('has examples for every handled event', () => {
    expect(new Set(cases.map((c) => c.event))).toEqual(new Set(HANDLED));
  });

  it.each(cases.map((c) => [`${c.event}.${String(c.payload.action)} #${c.i}`, c] as const))(
    'classifies and accepts %s',
    async (_name, { event, payload }) => {
      const intent = classify(event, payload);
      const action = payload.action;
      if (event === 'issues' && action === 'labeled') expect(intent.type).toBe('labeled');
      else if (event === 'issue_comment' && action === 'created')
        expect(['command', 'unknown-command', 'reply']).toContain(intent.type);
      else if ((event === 'check_suite' || event === 'workflow_run') && action === 'completed')
        expect(intent.type).toBe('checks-completed');
      else expect(intent.type).toBe('ignore');
      const { invoke } = makeWebhook();
      const response = await invoke(await signedEvent(event, payload));
      expect(response.statusCode).toBeGreaterThanOrEqual(200);
      expect(response.statusCode).toBeLessThan(300);
    },
  );
});
