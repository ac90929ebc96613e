import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Forge } from './forge';
import { BOT_LOGIN, SAMPLE_COLLABORATORS, SAMPLE_LABEL } from './forge/sample';
import type { LambdaHttpHandler } from './gateway';
import { isLoopbackRequest } from './info';

/**
 * `POST /local/repos` on the embedded stack's gateway: the empty forge repository that
 * `code-factory local import` then pushes a local repository's default branch into, with the
 * sample users as collaborators (alice admin, bob write, mallory read), the factory's bot as a
 * writer, the trigger label, and the CI command the forge's local CI runs on pull requests.
 * Local-only as GET /local/info, and only for a JSON request without an Origin: a web page cannot
 * send one without a CORS preflight, which this route never grants.
 */

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const BRANCH = /^(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*\/$)(?!.*\.lock$)[A-Za-z0-9._/-]{1,200}$/;
const MAX_CI_COMMAND = 500;

const json = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});
const refuse = (statusCode: number, code: string, message: string) =>
  json(statusCode, { error: { code, message } });

interface ImportRequest {
  owner: string;
  name: string;
  default_branch: string;
  ci_command: string | null;
  description: string;
}

function parse(event: APIGatewayProxyEventV2): ImportRequest | string {
  let body: unknown;
  try {
    const text = event.isBase64Encoded
      ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
      : event.body;
    body = JSON.parse(text ?? '');
  } catch {
    return 'the body is not JSON';
  }
  const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { owner, name, default_branch: branch, ci_command: ci, description } = input;
  if (typeof owner !== 'string' || !NAME.test(owner) || owner.endsWith('[bot]'))
    return 'owner is not a valid name';
  if (typeof name !== 'string' || !NAME.test(name) || name.endsWith('.git'))
    return 'name is not a valid name';
  if (typeof branch !== 'string' || !BRANCH.test(branch)) return 'default_branch is not a valid branch name';
  if (ci !== null && (typeof ci !== 'string' || ci.trim() === '' || ci.length > MAX_CI_COMMAND))
    return `ci_command is a command of 1-${MAX_CI_COMMAND} characters or null`;
  if (description !== undefined && (typeof description !== 'string' || description.length > 350))
    return 'description is a string of at most 350 characters';
  return { owner, name, default_branch: branch, ci_command: ci, description: description ?? '' };
}

export function localReposHandler(forge: Pick<Forge, 'url' | 'service' | 'actions'>): LambdaHttpHandler {
  return async (event) => {
    const headers = event.headers ?? {};
    if (!isLoopbackRequest(event) || headers.origin !== undefined)
      return refuse(403, 'Forbidden', 'local-only: ask from this machine, not from a web page');
    if (!/^application\/json\b/i.test(headers['content-type'] ?? ''))
      return refuse(415, 'UnsupportedMediaType', 'send application/json');
    const input = parse(event);
    if (typeof input === 'string') return refuse(400, 'BadRequest', input);
    if (forge.service.repos.has(input.owner, input.name))
      return refuse(409, 'Conflict', `${input.owner}/${input.name} already exists on the forge`);
    for (const login of Object.keys(SAMPLE_COLLABORATORS)) forge.actions.createUser(login);
    const repo = await forge.actions.createRepo({
      owner: input.owner,
      name: input.name,
      description: input.description,
      defaultBranch: input.default_branch,
      roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
      ciCommand: input.ci_command,
      labels: [
        { name: SAMPLE_LABEL, color: '5319e7', description: 'Ask Code Factory to work on this issue' },
      ],
    });
    const fullName = `${repo.owner}/${repo.name}`;
    return json(201, {
      data: {
        full_name: fullName,
        html_url: `${forge.url}/${fullName}`,
        clone_url: `${forge.url}/${fullName}.git`,
        default_branch: repo.defaultBranch,
        ci_command: repo.ciCommand,
        collaborators: { ...SAMPLE_COLLABORATORS },
      },
    });
  };
}
