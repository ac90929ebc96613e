/**
 * The list pages' script (runs, costs, a work item): it asks for the page it shows again with
 * If-None-Match (an unchanged page is a 304 without a body) and, when the page changed, swaps in
 * its live regions (`[data-live-region="name"]`, else the whole `<main>`) from the new HTML, which
 * the console rendered and escaped as it does on a reload. Nothing outside the regions is touched
 * (a question typed in the copilot panel stays). It polls only while the tab is visible, every
 * 3 s, and stops after a bounded number of polls: no idle compute.
 */
export const LIVE_PAGE_SCRIPT = `'use strict';
(() => {
  const main = document.querySelector('main[data-live-page]');
  if (!main) return;
  const WAIT_MS = 3000;
  const MAX_POLLS = 1200;
  let etag = main.getAttribute('data-etag');
  let polls = 0;
  let timer = null;
  const regionsOf = (root) => {
    const named = root.querySelectorAll('[data-live-region]');
    return named.length > 0 ? [...named] : [root];
  };
  const swap = (html) => {
    const next = new DOMParser().parseFromString(html, 'text/html').querySelector('main[data-live-page]');
    if (!next) return;
    for (const region of regionsOf(main)) {
      const name = region.getAttribute('data-live-region');
      const fresh = name === null ? next : next.querySelector('[data-live-region="' + name + '"]');
      if (!fresh) continue;
      region.replaceChildren(...[...fresh.childNodes].map((node) => document.importNode(node, true)));
    }
  };
  const poll = async () => {
    timer = null;
    if (document.hidden || polls >= MAX_POLLS) return;
    polls += 1;
    try {
      const response = await fetch(location.pathname + location.search, {
        headers: etag ? { 'if-none-match': etag } : {},
        cache: 'no-store',
        credentials: 'same-origin',
      });
      if (response.status === 200) {
        etag = response.headers.get('etag');
        swap(await response.text());
        main.setAttribute('data-swaps', String(Number(main.getAttribute('data-swaps') || '0') + 1));
      }
    } catch (error) {
      // The stack may be restarting: try again at the next tick.
    }
    main.setAttribute('data-polls', String(polls));
    timer = setTimeout(poll, WAIT_MS);
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && timer === null) poll();
  });
  timer = setTimeout(poll, WAIT_MS);
})();
`;
