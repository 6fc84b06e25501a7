// The console's live parts: the token prompt, loading views into the page, and following a
// running job's event stream. The token lives in this closure only: never in storage, a
// cookie or the page.
'use strict';
(function () {
  const view = document.getElementById('view');
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const message = document.getElementById('token-message');
  let token = null;
  // The stream of the job being shown, aborted when the view changes.
  let follow = null;

  function headers() {
    return token ? { Authorization: 'Bearer ' + token } : {};
  }

  function askToken(text) {
    token = null;
    message.textContent = text || '';
    form.hidden = false;
    input.focus();
  }

  function showError(text) {
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = text;
    view.replaceChildren(p);
  }

  // Fetches a view; null when it could not be had (the reason is shown).
  async function fetchView(path) {
    const r = await fetch('/console/views/' + path, { headers: headers() });
    if (r.status === 401) {
      askToken('The service refused the token.');
      return null;
    }
    const body = await r.text();
    if (!r.ok) {
      let detail = body;
      try { detail = JSON.parse(body).detail || body; } catch (e) { /* not JSON */ }
      showError(r.status + ': ' + detail);
      return null;
    }
    return body;
  }

  async function show(path) {
    const html = await fetchView(path);
    if (html === null) return;
    // Server-rendered: every value in it was escaped by the service.
    view.innerHTML = html;
    view.dataset.view = path;
    const live = view.querySelector('[data-live]');
    if (live) followJob(live.dataset.live, live.dataset.refresh);
  }

  // Reads the job's Server-Sent Events (fetch, so that the token goes in a header) and
  // renders the job again after each event, and once more when the stream ends.
  async function followJob(url, path) {
    const ctrl = new AbortController();
    follow = ctrl;
    try {
      const r = await fetch(url, { headers: headers(), signal: ctrl.signal });
      if (!r.ok || !r.body) return;
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        let events = 0;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          buffer = buffer.slice(end + 2);
          events += 1;
        }
        if (events > 0) await refresh(path, ctrl);
      }
      await refresh(path, ctrl);
    } catch (e) {
      if (e.name !== 'AbortError') showError('The job stream failed: ' + e.message);
    }
  }

  async function refresh(path, ctrl) {
    if (ctrl.signal.aborted) return;
    const html = await fetchView(path);
    if (html !== null && !ctrl.signal.aborted) view.innerHTML = html;
  }

  function route() {
    if (follow) follow.abort();
    follow = null;
    if (document.body.dataset.auth === 'required' && !token) {
      askToken();
      return;
    }
    const path = location.hash.replace(/^#\/?/, '') || 'templates';
    show(path).catch(function (e) { showError(e.message); });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    token = input.value;
    input.value = '';
    form.hidden = true;
    route();
  });
  window.addEventListener('hashchange', route);
  route();
})();
