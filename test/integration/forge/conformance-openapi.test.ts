import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OctokitGitHub } from '../../../functions/shared/adapters/github';
import {
  type Forge,
  SAMPLE_ISSUE,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  SAMPLE_USERS,
  startForge,
} from '../../../local/forge';
import type { CheckSummary, PostedReviewComment, PullFile } from '../../../functions/shared/ports';
import { isAllowed } from './conformance-allowlist';
import { WEBHOOK_SECRET } from './support';

interface Captured {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

interface Operation {
  template: string;
  method: string;
  regex: RegExp;
  literal: number;
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}

const require = createRequire(import.meta.url);
const spec = JSON.parse(
  readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.deref.json'), 'utf8'),
) as {
  paths: Record<string, Record<string, Operation['responses'] | { responses: Operation['responses'] }>>;
};

/** Operations under /repos, each with a regex for its path template. */
const operations: Operation[] = Object.entries(spec.paths)
  .filter(([template]) => template.startsWith('/repos/'))
  .flatMap(([template, methods]) =>
    Object.entries(methods)
      .filter(([, op]) => typeof op === 'object' && op !== null && 'responses' in op)
      .map(([method, op]) => ({
        template,
        method: method.toUpperCase(),
        // Git refs and content paths may hold slashes; other parameters are one segment.
        regex: new RegExp(
          `^${template.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'ref' || name === 'path' ? '(.+)' : '([^/]+)'))}$`,
        ),
        literal: template.replace(/\{\w+\}/g, '').length,
        responses: (op as { responses: Operation['responses'] }).responses,
      })),
  );

function operationFor(method: string, path: string): Operation | undefined {
  return operations
    .filter((op) => op.method === method && op.regex.test(path))
    .sort((a, b) => b.literal - a.literal)[0];
}

/** OpenAPI 3.0's `nullable` as JSON Schema: `anyOf` the schema or null. */
function jsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(jsonSchema);
  if (typeof schema !== 'object' || schema === null) return schema;
  const { nullable, ...rest } = schema as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, jsonSchema(value)]));
  return nullable === true ? { anyOf: [converted, { type: 'null' }] } : converted;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<object, ValidateFunction>();

/** Failures `METHOD template: instancePath message` for one response, allow-listed ones dropped. */
function validate(response: Captured): string[] {
  const op = operationFor(response.method, response.path);
  if (!op) return [`${response.method} ${response.path}: no OpenAPI operation matches`];
  const where = `${op.method} ${op.template}`;
  const declared = op.responses[String(response.status)];
  if (!declared) return [`${where}: status ${response.status} is not documented`];
  const schema = declared.content?.['application/json']?.schema;
  if (!schema) return [];
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(jsonSchema(schema) as object);
    compiled.set(schema, check);
  }
  if (check(response.body)) return [];
  return (check.errors ?? [])
    .filter((error) => !isAllowed(where, error.instancePath))
    .map((error) => `${where} ${response.status}: ${error.instancePath || '/'} ${error.message ?? ''}`);
}

const repo = { owner: SAMPLE_OWNER, repo: SAMPLE_REPO };

const FAILING_TEST = `import assert from 'node:assert/strict';
import { test } from 'node:test';

test('slugify lowercases', () => {
  assert.equal('Hello'.toLowerCase(), 'HELLO');
});
`;

describe("the forge's REST responses against GitHub's OpenAPI description", () => {
  let forge: Forge;
  const captured: Captured[] = [];
  let checks: CheckSummary | undefined;
  let reviewFiles: PullFile[] = [];
  let inlineComments: PostedReviewComment[] = [];
  let reviewComments: Array<Record<string, unknown>> = [];
  let offDiff: { status?: number; message?: string } | undefined;
  let draftAgain: boolean | undefined;

  beforeAll(async () => {
    forge = await startForge({ webhookSecret: WEBHOOK_SECRET, ciTimeoutMs: 20_000 });
    await forge.seedSample();
    const apiPath = new URL(forge.apiUrl).pathname.replace(/\/$/, '');
    const recording: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const response = await fetch(input, init);
      const url = new URL(request.url);
      const type = response.headers.get('content-type') ?? '';
      if (url.pathname.startsWith(`${apiPath}/`) && type.includes('json')) {
        const text = await response.clone().text();
        captured.push({
          method: request.method,
          path: decodeURIComponent(url.pathname.slice(apiPath.length)),
          status: response.status,
          body: text ? JSON.parse(text) : undefined,
        });
      }
      return response;
    };
    const github = new OctokitGitHub({
      baseUrl: forge.apiUrl,
      credentials: { kind: 'token', token: forge.botToken },
      pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
      retries: 0,
      fetch: recording,
    });

    // The calls the pipeline makes, in its order.
    await github.getPermission(repo, SAMPLE_USERS.admin);
    await github.getPermission(repo, 'stranger');
    const main = await github.getDefaultBranch(repo);
    await github.getFile(repo, 'src/index.js', main.sha);
    await github.getFile(repo, 'src/missing.js', main.sha);
    await github.listFiles(repo, main.sha);
    await github.getIssue(repo, SAMPLE_ISSUE.number);
    const comment = await github.createComment(repo, SAMPLE_ISSUE.number, 'Working on it');
    await github.updateComment(repo, comment.id, 'Plan ready');
    await github.getComment(repo, comment.id);
    const baseTree = await github.getCommitTree(repo, main.sha);
    const tree = await github.createTree(repo, baseTree, [
      { path: 'src/slugify.js', mode: '100644', type: 'blob', content: 'export const slugify = (t) => t;\n' },
      // A failing test: the forge's CI fails, so its annotations and job log are read too.
      { path: 'test/slugify.test.js', mode: '100644', type: 'blob', content: FAILING_TEST },
    ]);
    const commit = await github.createCommit(repo, 'Add slugify', tree, [main.sha]);
    const branch = 'factory/1-conformance';
    await github.getRef(repo, `heads/${branch}`);
    await github.createRef(repo, `refs/heads/${branch}`, commit);
    const second = await github.createCommit(repo, 'Add slugify, again', tree, [commit]);
    await github.updateRef(repo, `heads/${branch}`, second, false);
    await github.getRef(repo, `heads/${branch}`);
    const pull = await github.createPull(repo, {
      title: 'Add slugify',
      body: 'Closes #1',
      head: branch,
      base: 'main',
      draft: true,
    });
    await github.findOpenPull(repo, branch);
    await github.updatePull(repo, pull.number, { body: 'Closes #1\n\nUpdated' });
    await github.getChecks(repo, second);
    await forge.waitForIdle();
    // A CI that is not a GitHub App reports through a commit status.
    const status = await recording(
      `${forge.apiUrl}/repos/${SAMPLE_OWNER}/${SAMPLE_REPO}/statuses/${second}`,
      {
        method: 'POST',
        headers: { authorization: `token ${forge.botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          state: 'failure',
          context: 'ci/jenkins',
          description: '1 test failed',
          target_url: 'https://jenkins.example/job/1/',
        }),
      },
    );
    expect(status.status).toBe(201);
    checks = await github.getChecks(repo, second);
    await github.markReadyForReview(repo, pull.number);
    // A failed run under `on_failure: draft` turns its PR back into a draft (GraphQL, as GitHub).
    await github.convertToDraft(repo, pull.number);
    draftAgain = (await github.getPull(repo, pull.number)).draft;
    await github.markReadyForReview(repo, pull.number);
    await github.createReview(repo, pull.number, {
      body: 'Looks right',
      event: 'COMMENT',
      commitSha: second,
    });
    // A review run: the PR's files, one review with an inline comment, one refused off the diff.
    reviewFiles = await github.listPullFiles(repo, pull.number);
    const inline = await github.createReview(repo, pull.number, {
      body: 'One thing',
      event: 'COMMENT',
      commitSha: second,
      comments: [{ path: 'src/slugify.js', line: 1, side: 'RIGHT', body: 'Name the parameter text.' }],
    });
    // A follow-up reads a review's inline comments back.
    inlineComments = await github.listReviewComments(repo, pull.number, inline.id);
    offDiff = await github
      .createReview(repo, pull.number, {
        body: 'Off the diff',
        event: 'COMMENT',
        commitSha: second,
        comments: [{ path: 'src/index.js', line: 1, side: 'RIGHT', body: 'Not changed here.' }],
      })
      .then(
        () => undefined,
        (error: { status?: number; message?: string }) => error,
      );
    const listed = await recording(
      `${forge.apiUrl}/repos/${SAMPLE_OWNER}/${SAMPLE_REPO}/pulls/${pull.number}/comments`,
      { headers: { authorization: `token ${forge.botToken}` } },
    );
    reviewComments = (await listed.json()) as Array<Record<string, unknown>>;
    await github.mergePull(repo, pull.number, main.sha, 'Wrong head');
    await github.mergePull(repo, pull.number, second, 'Add slugify (#2)\n\nCloses #1');
    await github.getPull(repo, pull.number);
    await github.deleteRef(repo, `heads/${branch}`);
    await github.deleteRef(repo, `heads/${branch}`);
  }, 60_000);

  afterAll(async () => {
    await forge?.close();
  });

  it("reads a failed Actions run's log and annotations, and a commit status's link", () => {
    expect(checks?.state).toBe('failure');
    const [test, jenkins] = checks?.runs ?? [];
    expect(test?.log).toContain('not ok');
    expect(test?.annotations).toEqual([
      expect.objectContaining({
        path: 'test/slugify.test.js',
        line: 5,
        level: 'failure',
        title: 'slugify lowercases',
      }),
      expect.objectContaining({ path: '.github', message: 'Process completed with exit code 1.' }),
    ]);
    expect(jenkins).toMatchObject({
      name: 'ci/jenkins',
      conclusion: 'failure',
      url: 'https://jenkins.example/job/1/',
    });
  });

  it("lists a PR's files with their patch, takes review comments only on lines of the diff, and turns a PR back into a draft", () => {
    expect(inlineComments).toEqual([{ path: 'src/slugify.js', line: 1, body: 'Name the parameter text.' }]);
    expect(reviewFiles.map((f) => [f.path, f.status])).toEqual([
      ['src/slugify.js', 'added'],
      ['test/slugify.test.js', 'added'],
    ]);
    expect(reviewFiles[0]?.patch).toMatch(/^@@ -0,0 \+1,1 @@\n\+export const slugify/);
    expect(reviewComments).toEqual([
      expect.objectContaining({
        path: 'src/slugify.js',
        line: 1,
        side: 'RIGHT',
        body: 'Name the parameter text.',
      }),
    ]);
    expect(offDiff?.status).toBe(422);
    expect(draftAgain).toBe(true);
    expect(offDiff?.message).toContain('Pull request review thread line must be part of the diff');
  });

  it('records the calls the pipeline makes', () => {
    const seen = new Set(
      captured.map((c) => `${c.method} ${operationFor(c.method, c.path)?.template ?? c.path}`),
    );
    expect(seen).toContain('GET /repos/{owner}/{repo}/pulls/{pull_number}');
    expect(seen).toContain('POST /repos/{owner}/{repo}/git/commits');
    expect(seen).toContain('GET /repos/{owner}/{repo}/commits/{ref}/check-runs');
    expect(seen).toContain('GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations');
    expect(seen).toContain('GET /repos/{owner}/{repo}/commits/{ref}/status');
    expect(seen).toContain('POST /repos/{owner}/{repo}/statuses/{sha}');
    expect(seen).toContain('GET /repos/{owner}/{repo}/pulls/{pull_number}/files');
    expect(seen).toContain('GET /repos/{owner}/{repo}/pulls/{pull_number}/comments');
    expect(seen).toContain('POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews');
  });

  it('every JSON response validates against its operation schema', () => {
    const failures = [...new Set(captured.flatMap(validate))];
    expect(failures).toEqual([]);
  });

  it('reports a required field removed from a response', () => {
    const pull = captured.find((c) => c.method === 'GET' && /\/pulls\/\d+$/.test(c.path) && c.status === 200);
    expect(pull).toBeDefined();
    const body = structuredClone(pull?.body) as Record<string, unknown>;
    delete body.head;
    const failures = validate({ ...(pull as Captured), body });
    expect(failures.join('\n')).toContain("must have required property 'head'");
  });
});
