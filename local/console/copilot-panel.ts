/**
 * The copilot panel of the runs page (issue 21): a question box, the answer, and one button per
 * proposed action. The script (COPILOT_SCRIPT, part of /console.js) asks through the console's
 * API proxy; a proposal's button is the person's confirmation, and only then does the proxy send
 * the action to its own endpoint (retry, cancel). No form: the CSP allows none.
 */

export function copilotPanel(): string {
  return `<section class="card" aria-labelledby="copilot-title" data-copilot>
<h2 id="copilot-title">Ask the copilot</h2>
<p class="small muted">It reads runs, timelines, costs and anomalies, and may propose an action. Nothing runs until you click it.</p>
<div class="ask"><input id="copilot-question" type="text" maxlength="2000" placeholder="which runs failed today and why" aria-label="Question for the copilot"> <button id="copilot-ask" type="button">Ask</button></div>
<p class="small muted" data-copilot-part="status" aria-live="polite"></p>
<div class="prose" data-copilot-part="answer"></div>
<ul class="proposals" data-copilot-part="proposals"></ul>
<p class="small" data-copilot-part="result" aria-live="polite"></p>
</section>`;
}

/** Labels of the proposal buttons, by action. */
const LABELS = {
  retry: 'Retry run',
  cancel: 'Cancel run',
  open_run: 'Open run',
  open_approval: 'Open approval of run',
};

export const COPILOT_SCRIPT = `'use strict';
(() => {
  const panel = document.querySelector('[data-copilot]');
  if (!panel) return;
  const LABELS = ${JSON.stringify(LABELS)};
  const MAX_POLLS = 120;
  const part = (name) => panel.querySelector('[data-copilot-part="' + name + '"]');
  const input = panel.querySelector('#copilot-question');
  const button = panel.querySelector('#copilot-ask');
  let busy = false;
  const say = (name, text) => { part(name).textContent = text; };
  const json = (method, path, body) =>
    fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
    }).then(async (response) => ({ status: response.status, body: await response.json().catch(() => ({})) }));
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const act = async (proposal, control) => {
    control.disabled = true;
    if (proposal.payload.method !== 'POST') {
      location.href = '/runs/' + encodeURIComponent(proposal.target);
      return;
    }
    say('result', 'Sending ' + proposal.action + ' for ' + proposal.target + '…');
    const answer = await json('POST', '/api' + proposal.payload.path, proposal.payload.body || {});
    if (answer.status >= 200 && answer.status < 300 && answer.body.data) {
      const run = answer.body.data;
      const result = part('result');
      result.textContent = (proposal.action === 'retry' ? 'Started run ' : 'Cancelled run ') + run.id + ' ';
      const open = document.createElement('a');
      open.href = '/runs/' + encodeURIComponent(run.id);
      open.textContent = 'open it';
      open.setAttribute('data-started-run', run.id);
      result.appendChild(open);
    } else {
      control.disabled = false;
      say('result', 'Refused (' + answer.status + '): ' + ((answer.body.error && answer.body.error.message) || 'no answer'));
    }
  };
  const show = (ask) => {
    say('answer', ask.answer || '');
    const list = part('proposals');
    list.replaceChildren();
    for (const proposal of ask.proposals || []) {
      const item = document.createElement('li');
      const control = document.createElement('button');
      control.type = 'button';
      control.textContent = (LABELS[proposal.action] || proposal.action) + ' ' + proposal.target;
      control.setAttribute('data-proposal', proposal.action);
      control.setAttribute('data-target', proposal.target);
      control.addEventListener('click', () => act(proposal, control));
      const reason = document.createElement('span');
      reason.className = 'small muted';
      reason.textContent = ' ' + proposal.reason;
      item.append(control, reason);
      list.appendChild(item);
    }
  };
  const ask = async () => {
    const question = input.value.trim();
    if (!question || busy) return;
    busy = true;
    button.disabled = true;
    panel.setAttribute('data-copilot-status', 'PENDING');
    say('status', 'Asking…');
    say('answer', '');
    say('result', '');
    part('proposals').replaceChildren();
    try {
      const created = await json('POST', '/api/v1/asks', { question });
      if (created.status !== 202) throw new Error((created.body.error && created.body.error.message) || 'HTTP ' + created.status);
      const id = created.body.data.id;
      for (let polls = 0; polls < MAX_POLLS; polls++) {
        await sleep(1000);
        const current = await json('GET', '/api/v1/asks/' + encodeURIComponent(id));
        if (current.status !== 200) continue;
        const data = current.body.data;
        if (data.status === 'PENDING') continue;
        panel.setAttribute('data-copilot-status', data.status);
        say('status', data.status === 'ANSWERED' ? 'Answered (' + data.llm_calls + ' model calls).' : 'Failed: ' + (data.error ? data.error.message : 'no answer'));
        show(data);
        return;
      }
      throw new Error('no answer in time');
    } catch (error) {
      panel.setAttribute('data-copilot-status', 'ERROR');
      say('status', 'Could not ask: ' + error.message);
    } finally {
      busy = false;
      button.disabled = false;
    }
  };
  button.addEventListener('click', ask);
  input.addEventListener('keydown', (event) => { if (event.key === 'Enter') ask(); });
})();
`;
