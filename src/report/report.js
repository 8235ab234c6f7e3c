'use strict';
// The report's script: the table (sort, filter, pages), the timeline, and a
// connection's details with its step-through. Everything it shows comes from
// the JSON in the page, its words too (meta.ui, in the language the report
// was made in: src/lang/ui.rs); it fetches nothing.
(function () {
  const data = JSON.parse(document.getElementById('data').textContent);
  const meta = data.meta;
  const rows = data.rows;
  const ui = meta.ui;
  // A text of ui with its {name}s filled in.
  const say = (text, args) => text.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
  // Row columns, as src/report/mod.rs writes them.
  const C = { id: 0, client: 1, server: 2, start: 3, dur: 4, durText: 5, pktsText: 6, pkts: 7,
    bytesText: 8, bytes: 9, rttText: 10, rtt: 11, close: 12, cls: 13, tw: 14, twWho: 15,
    retrans: 16, zw: 17, zeek: 18, details: 19, keepalive: 20 };
  const COLS = [
    { k: 'id', title: '#', sort: C.id, show: r => r[C.id], num: true },
    { k: 'client', title: ui.client, sort: C.client, show: r => r[C.client] },
    { k: 'server', title: ui.server, sort: C.server, show: r => r[C.server] },
    { k: 'start', title: ui.col_start, sort: C.start, show: r => r[C.start].toFixed(6), num: true },
    { k: 'dur', title: ui.col_duration, sort: C.dur, show: r => r[C.durText], num: true },
    { k: 'pkts', title: ui.col_packets, sort: C.pkts, show: r => r[C.pktsText], num: true },
    { k: 'bytes', title: ui.col_bytes, sort: C.bytes, show: r => r[C.bytesText], num: true },
    { k: 'rtt', title: ui.rtt, sort: C.rtt, show: r => r[C.rttText], num: true },
    { k: 'close', title: ui.close, sort: C.close, show: r => r[C.close], dot: true },
    { k: 'tw', title: ui.time_wait, sort: C.tw, show: r => r[C.tw] },
    { k: 'retrans', title: ui.col_retrans, sort: C.retrans, show: r => r[C.retrans] || '', num: true },
    { k: 'zw', title: ui.col_zero_window, sort: C.zw, show: r => r[C.zw] },
    { k: 'keepalive', title: ui.col_keepalive, sort: C.keepalive, show: r => r[C.keepalive] },
    { k: 'zeek', title: ui.col_zeek, sort: C.zeek, show: r => r[C.zeek] },
  ];
  const CLASSES = {
    closed: { colour: '#43a047', name: ui.end_closed },
    reset: { colour: '#e53935', name: ui.end_reset },
    refused: { colour: '#fb8c00', name: ui.end_refused },
    'one-fin': { colour: '#8e24aa', name: ui.end_one_fin },
    unanswered: { colour: '#9e9e9e', name: ui.end_unanswered },
    open: { colour: '#1e88e5', name: ui.end_open },
  };
  const PAGE = 250;
  const $ = id => document.getElementById(id);
  const esc = s => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  const state = { sortCol: 0, asc: true, page: 0, view: rows, selected: null, detail: null, step: 0 };

  // Summary line.
  const files = meta.files.join(', ');
  $('summary').textContent = say(ui.summary, { n: meta.connections, files }) +
    (meta.start ? say(ui.summary_from, { start: meta.start }) : '') +
    say(ui.summary_details, { details: meta.details, problems: meta.problems });
  $('footer').textContent = `${meta.summary} — synack ${meta.version}` +
    (meta.errors.length ? say(ui.input_errors, { errors: meta.errors.join('; ') }) : '');

  // Filters.
  const seen = new Set(rows.map(r => r[C.cls]));
  for (const [k, v] of Object.entries(CLASSES)) {
    if (!seen.has(k)) continue;
    const o = document.createElement('option');
    o.value = k; o.textContent = v.name;
    $('f-close').appendChild(o);
  }
  function applyFilters() {
    const addr = $('f-addr').value.trim().toLowerCase();
    const cls = $('f-close').value;
    const tw = $('f-tw').value;
    const rt = $('f-rt').checked;
    state.view = rows.filter(r => {
      if (addr && !(r[C.client].toLowerCase().includes(addr) || r[C.server].toLowerCase().includes(addr))) return false;
      if (cls && r[C.cls] !== cls) return false;
      if (tw === 'none' && r[C.twWho]) return false;
      if ((tw === 'client' || tw === 'server') && !(r[C.twWho] === tw || r[C.twWho] === 'both')) return false;
      if (rt && !(r[C.retrans] > 0)) return false;
      return true;
    });
    sortView();
    state.page = 0;
    renderTable();
  }
  function sortView() {
    const k = COLS[state.sortCol].sort;
    const dir = state.asc ? 1 : -1;
    state.view.sort((a, b) => {
      const x = a[k], y = b[k];
      if (x === y) return (a[C.id] - b[C.id]) * dir;
      if (x === null || x === '') return 1;
      if (y === null || y === '') return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  }
  for (const id of ['f-addr', 'f-close', 'f-tw', 'f-rt']) $(id).addEventListener('input', applyFilters);
  $('f-close').addEventListener('change', applyFilters);
  $('f-tw').addEventListener('change', applyFilters);
  $('f-rt').addEventListener('change', applyFilters);

  // Table.
  const head = document.querySelector('#conns thead tr');
  COLS.forEach((c, i) => {
    const th = document.createElement('th');
    th.textContent = c.title;
    th.dataset.k = c.k;
    th.addEventListener('click', () => {
      if (state.sortCol === i) state.asc = !state.asc; else { state.sortCol = i; state.asc = true; }
      sortView(); state.page = 0; renderTable();
    });
    head.appendChild(th);
  });
  function renderTable() {
    const pages = Math.max(1, Math.ceil(state.view.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const slice = state.view.slice(state.page * PAGE, (state.page + 1) * PAGE);
    const html = [];
    for (const r of slice) {
      const cells = COLS.map(c => {
        const v = esc(c.show(r));
        const cls = [c.num ? 'num' : '', c.k === 'id' && !r[C.details] ? 'nodetail' : ''].join(' ').trim();
        const dot = c.dot ? `<span class="dot" style="background:${CLASSES[r[C.cls]].colour}"></span>` : '';
        return `<td${cls ? ` class="${cls}"` : ''}>${dot}${v}</td>`;
      }).join('');
      html.push(`<tr data-id="${r[C.id]}"${r[C.id] === state.selected ? ' class="selected"' : ''}>${cells}</tr>`);
    }
    document.querySelector('#conns tbody').innerHTML = html.join('');
    document.querySelectorAll('#conns th').forEach((th, i) => {
      th.classList.toggle('sorted', i === state.sortCol);
      th.classList.toggle('asc', i === state.sortCol && state.asc);
      th.classList.toggle('desc', i === state.sortCol && !state.asc);
    });
    $('count').textContent = say(ui.count, { shown: state.view.length, total: rows.length });
    const from = state.view.length ? state.page * PAGE + 1 : 0;
    $('page-pos').textContent = say(ui.rows, { from, to: state.page * PAGE + slice.length, n: state.view.length });
    $('page-prev').disabled = state.page === 0;
    $('page-next').disabled = state.page >= pages - 1;
  }
  $('page-prev').addEventListener('click', () => { state.page--; renderTable(); });
  $('page-next').addEventListener('click', () => { state.page++; renderTable(); });
  document.querySelector('#conns tbody').addEventListener('click', e => {
    const tr = e.target.closest('tr');
    if (tr) open(Number(tr.dataset.id));
  });

  // Timeline: one bar per connection, in id order.
  const canvas = $('timeline');
  const byId = rows.slice().sort((a, b) => a[C.id] - b[C.id]);
  function drawTimeline() {
    const n = byId.length;
    const width = canvas.clientWidth || 1200;
    const height = Math.max(60, Math.min(320, n * 6));
    canvas.width = width; canvas.height = height;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, width, height);
    let end = 0;
    for (const r of byId) end = Math.max(end, r[C.start] + r[C.dur]);
    end = end || 1e-6;
    const rowH = height / Math.max(n, 1);
    byId.forEach((r, i) => {
      const x0 = r[C.start] / end * (width - 2) + 1;
      const w = Math.max(1.5, r[C.dur] / end * (width - 2));
      ctx.fillStyle = CLASSES[r[C.cls]].colour;
      ctx.fillRect(x0, i * rowH, w, Math.max(1, rowH - (rowH > 3 ? 1 : 0)));
    });
    const counts = {};
    for (const r of rows) counts[r[C.cls]] = (counts[r[C.cls]] || 0) + 1;
    $('timeline-legend').innerHTML = Object.entries(CLASSES).filter(([k]) => counts[k])
      .map(([k, v]) => `<span class="sw" style="background:${v.colour}"></span>${esc(v.name)} (${counts[k]})`).join('') +
      ` <span class="hint">${esc(say(ui.timeline_span, { end: end.toFixed(6) }))}</span>`;
  }
  canvas.addEventListener('click', e => {
    const rect = canvas.getBoundingClientRect();
    const i = Math.floor((e.clientY - rect.top) / rect.height * byId.length);
    if (byId[i]) open(byId[i][C.id]);
  });

  // Details and the step-through.
  function open(id) {
    state.selected = id;
    document.querySelectorAll('#conns tbody tr').forEach(tr => tr.classList.toggle('selected', Number(tr.dataset.id) === id));
    const row = rows.find(r => r[C.id] === id);
    const el = document.getElementById('d-' + id);
    $('detail').hidden = false;
    if (!el) {
      state.detail = null;
      $('d-title').textContent = row ? say(ui.ladder_head, { id, client: row[C.client], server: row[C.server] }) : `#${id}`;
      $('d-story').textContent = '';
      $('d-body').hidden = true;
      $('d-none').hidden = false;
      $('d-none').textContent = say(ui.no_details, { details: meta.details, n: meta.connections,
        command: `synack read --view svg --conn ${id} ${files} -o conn${id}.svg` });
      $('detail').scrollIntoView({ block: 'start' });
      return;
    }
    const d = JSON.parse(el.textContent);
    state.detail = d;
    $('d-none').hidden = true;
    $('d-body').hidden = false;
    $('d-title').textContent = d.title;
    $('d-story').textContent = d.story;
    $('d-ladder').innerHTML = d.ladder;
    $('d-graphs').innerHTML = d.graphs.join('');
    $('d-ladder').querySelectorAll('g.row').forEach(g => g.addEventListener('click', () => go(Number(g.dataset.step))));
    go(0);
    $('detail').scrollIntoView({ block: 'start' });
  }
  function go(k) {
    const d = state.detail;
    if (!d || !d.steps.length) return;
    state.step = Math.max(0, Math.min(d.steps.length - 1, k));
    const s = d.steps[state.step];
    $('step-pos').textContent = say(ui.step, { k: state.step + 1, n: d.steps.length }) + (d.more ? say(ui.step_more, { more: d.more }) : '');
    $('st-client').textContent = s.cs;
    $('st-server').textContent = s.ss;
    $('st-line').textContent = s.st;
    const arrow = s.d === 'c' ? ui.client_to_server : s.d === 's' ? ui.server_to_client : '';
    $('st-packet').textContent = say(ui.at_seconds, { t: s.t }) + (s.f !== null ? say(ui.frame, { f: s.f, arrow, label: s.l }) : '');
    $('st-notes').innerHTML = s.n.map((n, i) => `<li>${esc(n)}` + (s.w[i] ? `<div class="why">${esc(ui.why)}${esc(s.w[i])}</div>` : '') + '</li>').join('');
    $('d-ladder').querySelectorAll('g.row').forEach(g => g.classList.toggle('cur', Number(g.dataset.step) === state.step));
    $('step-prev').disabled = state.step === 0;
    $('step-next').disabled = state.step === d.steps.length - 1;
  }
  $('step-prev').addEventListener('click', () => go(state.step - 1));
  $('step-next').addEventListener('click', () => go(state.step + 1));
  document.addEventListener('keydown', e => {
    if (!state.detail || e.target.matches('input, select, textarea')) return;
    if (e.key === 'ArrowRight') { go(state.step + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft') { go(state.step - 1); e.preventDefault(); }
  });

  sortView();
  renderTable();
  drawTimeline();
  window.addEventListener('resize', drawTimeline);
  window.synackReady = performance.now();
})();
