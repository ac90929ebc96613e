import { isTerminal, RUN_STATUSES } from '../../functions/shared/domain/run';
import { RUN_TONES } from './pages';

/**
 * The run page's one script (served as /console.js, allowed by `script-src 'self'`): it polls the
 * console's read-only API proxy with If-None-Match (an unchanged run costs a 304 and no body) and
 * asks the events endpoint only for what follows the last seq it shows, so nothing is re-read.
 * It polls only while the tab is visible and the run is active (plus a short tail after the end,
 * for the events that settle it), waits as the API's Retry-After says (at most 5 s), and stops
 * after a bounded number of polls: no idle compute.
 * It writes text only (textContent), never markup, so no value from the API can inject any.
 */
export const LIVE_SCRIPT = `'use strict';
(() => {
  const root = document.querySelector('[data-live-run]');
  if (!root) return;
  const runId = root.getAttribute('data-live-run');
  const TERMINAL = new Set(${JSON.stringify(RUN_STATUSES.filter(isTerminal))});
  const TONES = ${JSON.stringify(RUN_TONES)};
  const MAX_POLLS = 5000;
  const DEFAULT_WAIT_MS = 2000;
  let etag = null;
  let lastSeq = Number(root.getAttribute('data-last-seq') || '-1');
  let polls = 0;
  let ended = 0;
  const MAX_TAIL_POLLS = 5;
  let timer = null;
  const usd = (n) => '$' + Number(n).toFixed(n > 0 && n < 1 ? 4 : 2);
  const setText = (selector, text) => {
    for (const el of document.querySelectorAll(selector)) el.textContent = text;
  };
  const showRun = (run) => {
    for (const badge of document.querySelectorAll('[data-live="status"]')) {
      badge.className = 'badge ' + (TONES[run.status] || 'run');
      badge.setAttribute('data-status', run.status);
      badge.textContent = run.status.replaceAll('_', ' ');
    }
    setText('[data-live="stage"]', run.stage || '\\u2014');
    if (run.cost) {
      setText('[data-live="model-cost"]', usd(run.cost.model_usd));
      setText('[data-live="infra-cost"]', usd(run.cost.infra_usd));
    }
    root.setAttribute('data-live-status', run.status);
  };
  const addEvents = (events) => {
    const body = document.querySelector('[data-live="events"]');
    if (!body) return;
    for (const event of events) {
      if (event.seq <= lastSeq) continue;
      const row = document.createElement('tr');
      const cells = [String(event.seq), event.at, event.type, event.actor, JSON.stringify(event.data || {}), String(event.hash).slice(0, 10)];
      for (const [i, text] of cells.entries()) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (i === 0) cell.className = 'num';
        row.appendChild(cell);
      }
      body.appendChild(row);
      lastSeq = event.seq;
    }
    root.setAttribute('data-last-seq', String(lastSeq));
  };
  const get = (path, headers) => fetch(path, { headers, cache: 'no-store', credentials: 'same-origin' });
  const poll = async () => {
    timer = null;
    if (document.hidden || polls >= MAX_POLLS) return;
    polls += 1;
    let wait = DEFAULT_WAIT_MS;
    let done = false;
    try {
      const response = await get('/api/v1/runs/' + runId, etag ? { 'if-none-match': etag } : {});
      const after = Number(response.headers.get('retry-after'));
      // A person is watching: the API's hint, capped at 5 s (a 304 costs next to nothing).
      if (after > 0) wait = Math.min(after * 1000, 5000);
      if (response.status === 304 && ended) done = true;
      if (response.status === 200) {
        etag = response.headers.get('etag');
        const run = (await response.json()).data;
        showRun(run);
        // An ended run still settles (its last events follow the status): stop at the first
        // unchanged answer after the end, or after a few polls.
        if (TERMINAL.has(run.status)) ended += 1;
        done = ended > MAX_TAIL_POLLS;
        // A bounded number of pages: each asks only for events after the last one shown.
        for (let page = 0; page < 10; page++) {
          const since = lastSeq >= 0 ? '&after=' + lastSeq : '';
          const events = await get('/api/v1/runs/' + runId + '/events?limit=100' + since, {});
          if (events.status !== 200) break;
          const list = (await events.json()).data;
          addEvents(list);
          if (list.length < 100) break;
        }
      }
    } catch (error) {
      wait = DEFAULT_WAIT_MS * 2;
    }
    root.setAttribute('data-polls', String(polls));
    if (done) stopped = true;
    schedule(wait);
  };
  let stopped = false;
  const schedule = (ms) => {
    if (!stopped) timer = setTimeout(poll, ms);
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === null && !stopped) poll();
  });
  // A page served after the run ended polls once, for events that settle after the end.
  schedule(500);
})();
`;
