import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { isSha } from './git';
import { FLUSH, pkt, readBody, readPktLines, sendText } from './pkt-line';
import type { ForgeService } from './service';
import { ZERO_SHA } from './service/git-data';
import type { RepoRecord, UserRecord } from './state';

/**
 * Git smart HTTP, push side (protocol v0, stateless RPC; gitprotocol-pack "Pushing Data To a
 * Server", gitprotocol-http): `git push` with a user's token as the HTTP basic password, as on
 * GitHub. The advertisement asks for self-contained packs (`no-thin`) and the results come back
 * with `report-status`. Each ref update follows the REST ref rules (see GitData.applyPushedRef)
 * and moves pull requests and CI the same way.
 */

const MAX_PUSH_BYTES = 512 * 1024 * 1024;
const MAX_COMMANDS = 1000;
const CAPABILITIES = 'report-status delete-refs ofs-delta no-thin agent=forge/1';
const COMMAND = /^([0-9a-f]{40}) ([0-9a-f]{40}) (\S+)$/;

/** The pusher from `Authorization: Basic` (any username, the token as password), or a refusal sent. */
function pusherOf(
  forge: ForgeService,
  request: IncomingMessage,
  response: ServerResponse,
  repo: RepoRecord,
): UserRecord | undefined {
  const challenge = { 'www-authenticate': 'Basic realm="forge"' };
  const match = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec((request.headers.authorization ?? '').trim());
  if (!match) {
    sendText(response, 401, 'Authentication required to push\n', challenge);
    return undefined;
  }
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const token = colon >= 0 ? decoded.slice(colon + 1) : '';
  const user = token ? forge.users.byToken(token) : undefined;
  if (!user) {
    sendText(response, 401, 'Invalid username or token\n', challenge);
    return undefined;
  }
  if (!['write', 'maintain', 'admin'].includes(forge.repos.roleOf(repo, user.login))) {
    sendText(response, 403, `Permission to ${repo.owner}/${repo.name}.git denied to ${user.login}.\n`);
    return undefined;
  }
  return user;
}

export async function advertiseReceivePack(
  forge: ForgeService,
  request: IncomingMessage,
  response: ServerResponse,
  repo: RepoRecord,
): Promise<void> {
  if (!pusherOf(forge, request, response, repo)) return;
  const refs = await forge.repos.git(repo).listRefs();
  const lines: Buffer[] = [pkt('# service=git-receive-pack\n'), FLUSH];
  if (refs.length === 0) lines.push(pkt(`${ZERO_SHA} capabilities^{}\0${CAPABILITIES}\n`));
  for (const [index, ref] of refs.entries()) {
    lines.push(pkt(index === 0 ? `${ref.sha} ${ref.ref}\0${CAPABILITIES}\n` : `${ref.sha} ${ref.ref}\n`));
  }
  lines.push(FLUSH);
  response.writeHead(200, {
    'content-type': 'application/x-git-receive-pack-advertisement',
    'cache-control': 'no-cache',
  });
  response.end(Buffer.concat(lines));
}

export async function receivePack(
  forge: ForgeService,
  request: IncomingMessage,
  response: ServerResponse,
  repo: RepoRecord,
): Promise<void> {
  const pusher = pusherOf(forge, request, response, repo);
  if (!pusher) {
    request.resume();
    return;
  }
  let body = await readBody(request, MAX_PUSH_BYTES);
  if (body === undefined) return sendText(response, 413, 'Push too large\n');
  if (request.headers['content-encoding'] === 'gzip') {
    try {
      body = gunzipSync(body, { maxOutputLength: MAX_PUSH_BYTES });
    } catch {
      return sendText(response, 400, 'Bad gzip body, or too large\n');
    }
  }
  const framed = readPktLines(body, MAX_COMMANDS);
  if (!framed) return sendText(response, 400, 'Bad pkt-line framing\n');
  const commands: Array<{ ref: string; before: string; after: string }> = [];
  let capabilities = new Set<string>();
  for (const [index, line] of framed.lines.entries()) {
    const [command, caps] = line.split('\0');
    const match = COMMAND.exec(command ?? '');
    if (!match) return sendText(response, 400, `Bad command line: ${JSON.stringify(line.slice(0, 100))}\n`);
    if (index === 0) capabilities = new Set((caps ?? '').split(' ').filter(Boolean));
    commands.push({ before: match[1] as string, after: match[2] as string, ref: match[3] as string });
  }
  response.writeHead(200, {
    'content-type': 'application/x-git-receive-pack-result',
    'cache-control': 'no-cache',
  });
  // git's probe before a large (chunked) request, or nothing to do: receive-pack says nothing.
  if (commands.length === 0) return void response.end();

  const git = forge.repos.git(repo);
  const tips = commands.map((command) => command.after).filter((sha) => sha !== ZERO_SHA);
  const pack = body.subarray(framed.rest);
  let unpack: string | undefined;
  if (tips.some((sha) => !isSha(sha))) unpack = 'bad sha';
  else if (pack.length > 0 || tips.length > 0) unpack = await git.receivePack(pack, tips);
  const results: string[] = [];
  for (const command of commands) {
    const refused = unpack ? 'unpacker error' : await forge.gitData.applyPushedRef(pusher, repo, command);
    results.push(refused ? `ng ${command.ref} ${refused}\n` : `ok ${command.ref}\n`);
  }
  if (!capabilities.has('report-status')) return void response.end();
  response.end(
    Buffer.concat([pkt(`unpack ${unpack ?? 'ok'}\n`), ...results.map((line) => pkt(line)), FLUSH]),
  );
}
