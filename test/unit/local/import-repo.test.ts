import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { localReposHandler } from '../../../local/import-repo';

/** POST /local/repos: who may call it and what it accepts, in front of the forge's createRepo. */

const created: Array<Record<string, unknown>> = [];
const existing = new Set(['acme/taken']);
const handler = localReposHandler({
  url: 'http://127.0.0.1:9000',
  service: { repos: { has: (owner: string, name: string) => existing.has(`${owner}/${name}`) } },
  actions: {
    createUser: () => undefined,
    createRepo: async (input: Record<string, unknown>) => {
      created.push(input);
      return {
        owner: input.owner,
        name: input.name,
        defaultBranch: input.defaultBranch,
        ciCommand: input.ciCommand,
      };
    },
  },
} as never);

function post(body: unknown, headers: Record<string, string> = {}, sourceIp = '127.0.0.1') {
  const event = {
    headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/local/repos', sourceIp } },
  } as unknown as APIGatewayProxyEventV2;
  return handler(event, {} as Context) as Promise<{ statusCode: number; body: string }>;
}

const valid = { owner: 'acme', name: 'tools', default_branch: 'main', ci_command: 'npm test' };

describe('POST /local/repos', () => {
  it('creates the repository with the sample users, the bot as writer and the factory label', async () => {
    const answer = await post(valid);
    expect(answer.statusCode).toBe(201);
    expect(JSON.parse(answer.body).data).toMatchObject({
      full_name: 'acme/tools',
      clone_url: 'http://127.0.0.1:9000/acme/tools.git',
      ci_command: 'npm test',
    });
    expect(created.at(-1)).toMatchObject({
      owner: 'acme',
      name: 'tools',
      defaultBranch: 'main',
      ciCommand: 'npm test',
      roles: { alice: 'admin', bob: 'write', mallory: 'read', 'code-factory[bot]': 'write' },
      labels: [expect.objectContaining({ name: 'factory' })],
    });
  });

  it('refuses other machines, web pages, non-JSON, bad input and a taken name', async () => {
    const before = created.length;
    expect((await post(valid, {}, '10.0.0.5')).statusCode).toBe(403);
    expect((await post(valid, { origin: 'http://127.0.0.1:8080' })).statusCode).toBe(403);
    expect((await post(valid, { 'content-type': 'text/plain' })).statusCode).toBe(415);
    for (const bad of [
      { ...valid, owner: '../etc' },
      { ...valid, owner: 'code-factory[bot]' },
      { ...valid, name: 'x.git' },
      { ...valid, default_branch: 'a..b' },
      { ...valid, ci_command: '' },
      { ...valid, ci_command: 'x'.repeat(501) },
    ]) {
      expect((await post(bad)).statusCode, JSON.stringify(bad)).toBe(400);
    }
    expect((await post({ ...valid, name: 'taken' })).statusCode).toBe(409);
    expect(created.length).toBe(before);
    expect((await post({ ...valid, ci_command: null })).statusCode).toBe(201);
  });
});
