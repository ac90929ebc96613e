import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { isSha } from './git';
import { FLUSH, pkt, readBody, sendText } from './pkt-line';
import { advertiseReceivePack, receivePack } from './receive-pack';
import type { ForgeService } from './service';

/**
 * Git smart HTTP (protocol v0, stateless RPC) at `${url}/<owner>/<repo>.git`: `git clone` and
 * `git fetch` here, anonymous as for a public repository; `git push` in receive-pack.ts. The server
 * never ACKs haves mid-negotiation; when the client is `done`, it sends every object reachable
 * from the wants and not from the haves it has, which is always a valid (if sometimes larger than
 * necessary) answer.
 */

const MAX_REQUEST_BYTES = 1024 * 1024;
/** Side-band-64k data packets carry at most 65515 bytes plus the band byte. */
const SIDE_BAND_CHUNK = 65_515;

export function matchGitPath(pathname: string): { owner: string; repo: string; rest: string } | undefined {
  const match = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(pathname);
  if (!match) return undefined;
  return {
    owner: decodeURIComponent(match[1] as string),
    repo: decodeURIComponent(match[2] as string),
    rest: match[3] as string,
  };
}

export async function handleGitHttp(
  forge: ForgeService,
  request: IncomingMessage,
  response: ServerResponse,
  target: { owner: string; repo: string; rest: string },
  search: URLSearchParams,
): Promise<void> {
  if (!forge.repos.has(target.owner, target.repo)) return sendText(response, 404, 'Repository not found\n');
  const repo = forge.repos.get(target.owner, target.repo);
  const git = forge.repos.git(repo);
  if (request.method === 'GET' && target.rest === '/info/refs') {
    const service = search.get('service');
    if (service === 'git-receive-pack') return advertiseReceivePack(forge, request, response, repo);
    if (service !== 'git-upload-pack')
      return sendText(response, 403, 'Only git-upload-pack and git-receive-pack are offered\n');
    const refs = await git.listRefs();
    const head = refs.find((ref) => ref.ref === `refs/heads/${repo.defaultBranch}`);
    const capabilities = [
      'side-band-64k',
      'no-progress',
      'allow-tip-sha1-in-want',
      'allow-reachable-sha1-in-want',
      ...(head ? [`symref=HEAD:refs/heads/${repo.defaultBranch}`] : []),
      'agent=forge/1',
    ].join(' ');
    const lines: Buffer[] = [pkt('# service=git-upload-pack\n'), FLUSH];
    const advertised = head ? [{ ref: 'HEAD', sha: head.sha }, ...refs] : refs;
    if (advertised.length === 0) {
      lines.push(pkt(`${'0'.repeat(40)} capabilities^{}\0${capabilities}\n`));
    } else {
      advertised.forEach((ref, index) => {
        lines.push(pkt(index === 0 ? `${ref.sha} ${ref.ref}\0${capabilities}\n` : `${ref.sha} ${ref.ref}\n`));
      });
    }
    lines.push(FLUSH);
    response.writeHead(200, {
      'content-type': 'application/x-git-upload-pack-advertisement',
      'cache-control': 'no-cache',
    });
    response.end(Buffer.concat(lines));
    return;
  }
  if (request.method === 'POST' && target.rest === '/git-upload-pack') {
    let body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) return sendText(response, 413, 'Request too large\n');
    if (request.headers['content-encoding'] === 'gzip')
      body = gunzipSync(body, { maxOutputLength: MAX_REQUEST_BYTES });
    const { wants, haves, done, capabilities } = parseUploadRequest(body);
    if (wants.length === 0 || wants.some((want) => !isSha(want)))
      return sendText(response, 400, 'Bad want lines\n');
    const known: string[] = [];
    for (const have of haves) if (isSha(have) && (await git.objectType(have)) === 'commit') known.push(have);
    // Without multi_ack, one ACK of a common commit ends the negotiation; NAK asks for more haves.
    const acknowledgement = pkt(known[0] ? `ACK ${known[0]}\n` : 'NAK\n');
    response.writeHead(200, {
      'content-type': 'application/x-git-upload-pack-result',
      'cache-control': 'no-cache',
    });
    if (!done) {
      response.end(acknowledgement);
      return;
    }
    const oids = await git.objectsFor(wants, known);
    const packfile = Buffer.from(await git.pack(oids));
    const parts: Buffer[] = [acknowledgement];
    if (capabilities.has('side-band-64k') || capabilities.has('side-band')) {
      const chunkSize = capabilities.has('side-band-64k') ? SIDE_BAND_CHUNK : 999;
      for (let offset = 0; offset < packfile.length; offset += chunkSize) {
        parts.push(pkt(Buffer.concat([Buffer.from([1]), packfile.subarray(offset, offset + chunkSize)])));
      }
      parts.push(FLUSH);
    } else {
      parts.push(packfile);
    }
    response.end(Buffer.concat(parts));
    return;
  }
  if (request.method === 'POST' && target.rest === '/git-receive-pack')
    return receivePack(forge, request, response, repo);
  sendText(response, 404, 'Not found\n');
}

function parseUploadRequest(body: Buffer): {
  wants: string[];
  haves: string[];
  done: boolean;
  capabilities: Set<string>;
} {
  const wants: string[] = [];
  const haves: string[] = [];
  const capabilities = new Set<string>();
  let done = false;
  let offset = 0;
  while (offset + 4 <= body.length) {
    const length = Number.parseInt(body.subarray(offset, offset + 4).toString('ascii'), 16);
    if (Number.isNaN(length)) break;
    if (length < 4) {
      offset += 4;
      continue;
    }
    const line = body
      .subarray(offset + 4, offset + length)
      .toString('utf8')
      .replace(/\n$/, '');
    offset += length;
    if (line.startsWith('want ')) {
      const [, sha, ...caps] = line.split(' ');
      if (sha) wants.push(sha);
      for (const cap of caps) capabilities.add(cap);
    } else if (line.startsWith('have ')) {
      const sha = line.slice(5).trim();
      if (sha) haves.push(sha);
    } else if (line === 'done') {
      done = true;
    }
  }
  return { wants, haves, done, capabilities };
}
