/* The iotsec operator console. Plain JavaScript, no framework, nothing loaded from elsewhere.
 * Every datum is put in the page as text (textContent), never parsed as HTML. Every call goes
 * to the admin API (/admin/v1/...) under the session cookie, state changes with the session's
 * CSRF token: the console has no logic of its own beyond presenting it. */
'use strict';

const session = { name: null, role: null, csrf: null };
const RANK = { viewer: 0, operator: 1, admin: 2 };
const PAGE = 25;

/* ---- DOM helpers ---- */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, String(v));
  }
  for (const k of kids.flat()) if (k) e.append(k);
  return e;
}

const $ = (id) => document.getElementById(id);

function fmtTime(v) {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'number') {
    const ms = v > 1e12 ? v : v * 1000;
    return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }
  return String(v).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function stateBadge(s) { return el('span', { class: 'state ' + s, text: (s || '').replace('_', ' ') }); }

/* sort (optional): {by, dir (1 or -1), keys: {column: name}, click(column)}: the columns named
 * in keys get a header button that sorts by them (aria-sort says how it is sorted now). */
function table(rows, cols, empty, sort) {
  if (!rows || rows.length === 0) return el('p', { class: 'muted', text: empty || 'Nothing to show.' });
  const head = (c) => {
    if (!sort || !sort.keys[c[0]]) return el('th', { scope: 'col', text: c[1] });
    const on = sort.by === c[0];
    return el('th', { scope: 'col', 'aria-sort': on ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none' },
      el('button', { type: 'button', class: 'sort', 'data-sort': c[0], onclick: () => sort.click(c[0]),
        text: c[1] + (on ? (sort.dir > 0 ? ' ▲' : ' ▼') : '') }));
  };
  return el('table', {},
    el('thead', {}, el('tr', {}, cols.map(head))),
    el('tbody', {}, rows.map((r) => el('tr', {}, cols.map((c) => {
      const v = c[2] ? c[2](r[c[0]], r) : r[c[0]];
      const when = /(^at|_at|^time_ms)$/.test(c[0]);
      return el('td', { class: when ? 'nowrap' : undefined }, v instanceof Node ? v : (v === undefined || v === null ? '' : String(v)));
    })))));
}

/* A table of rows loaded whole (a short list): sorted in the page by any column's header. */
function sortedTable(rows, cols, empty) {
  const box = el('div');
  const sort = { by: null, dir: 1, keys: Object.fromEntries(cols.map((c) => [c[0], true])) };
  const cmp = (a, b) => {
    const x = a[sort.by], y = b[sort.by];
    if (typeof x === 'number' && typeof y === 'number') return (x - y) * sort.dir;
    return String(x ?? '').localeCompare(String(y ?? ''), 'en', { numeric: true }) * sort.dir;
  };
  sort.click = (k) => {
    sort.dir = sort.by === k ? -sort.dir : 1;
    sort.by = k;
    show();
  };
  const show = () => box.replaceChildren(table(sort.by ? rows.slice().sort(cmp) : rows, cols, empty, sort));
  show();
  return box;
}

function card(title, ...kids) { return el('section', { class: 'card' }, el('h2', { text: title }), ...kids); }

/* The list in an answer: {"items": [...]} (the house contract) or the older named arrays. */
function itemsOf(o) {
  if (Array.isArray(o)) return o;
  if (Array.isArray(o.items)) return o.items;
  for (const v of Object.values(o)) if (Array.isArray(v)) return v;
  return [];
}

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (res.status === 401 && !path.startsWith('/console/v1/login')) {
    showLogin('Your session has ended: log in again.');
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const can = (role) => RANK[session.role] >= RANK[role];

/* A button only a role may press: disabled (and saying why) for the others. The API refuses
 * them anyway; this only spares them the error. */
function roleButton(role, label, onclick, cls) {
  const ok = can(role);
  return el('button', { type: 'button', class: cls, onclick: ok ? onclick : undefined, disabled: !ok,
    title: ok ? undefined : 'needs the ' + role + ' role', 'data-role': role, text: label });
}

/* ---- confirmation ---- */

function confirmAction(title, text, wantReason) {
  return new Promise((resolve) => {
    $('modal-title').textContent = title;
    $('modal-text').textContent = text;
    $('modal-reason-label').hidden = !wantReason;
    $('modal-reason').value = '';
    $('modal').hidden = false;
    (wantReason ? $('modal-reason') : $('modal-ok')).focus();
    const done = (ok) => {
      $('modal').hidden = true;
      $('modal-ok').onclick = $('modal-cancel').onclick = null;
      document.removeEventListener('keydown', onKey);
      resolve(ok ? { reason: $('modal-reason').value.trim() } : null);
    };
    const onKey = (e) => { if (e.key === 'Escape') done(false); };
    document.addEventListener('keydown', onKey);
    $('modal-ok').onclick = () => done(true);
    $('modal-cancel').onclick = () => done(false);
  });
}

/* ---- charts (plain SVG) ---- */

function barChart(pairs, opts) {
  const w = (opts && opts.width) || 640, barH = 22, gap = 8, labelW = (opts && opts.labelW) || 240, max = Math.max(1, ...pairs.map((p) => p[1]));
  const h = pairs.length * (barH + gap) + 4;
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', role: 'img',
    'aria-label': (opts && opts.label) || 'chart' });
  pairs.forEach(([name, n], i) => {
    const y = i * (barH + gap);
    const bw = Math.max(n > 0 ? 2 : 0, Math.round((w - labelW - 70) * n / max));
    s.append(svg('text', { x: labelW - 8, y: y + 15, 'text-anchor': 'end', text: name.replace(/_/g, ' ') }),
      svg('rect', { class: 'bar ' + name, x: labelW, y, width: bw, height: barH, rx: 2 }),
      svg('text', { class: 'label', x: labelW + bw + 6, y: y + 15, text: n.toLocaleString('en') }));
  });
  return s;
}

/* Columns over time (oldest left): one rect per bucket, data-n holding its figure so that the
 * page's numbers can be checked against the API's. */
function columnChart(pairs, opts) {
  const w = (opts && opts.width) || 720, h = 200, left = 40, bottom = 24, top = 10, max = Math.max(1, ...pairs.map((p) => p[1]));
  const step = (w - left - 8) / Math.max(1, pairs.length), bw = Math.max(2, step * 0.72);
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', role: 'img', 'aria-label': (opts && opts.label) || 'chart' });
  const y = (n) => top + (h - top - bottom) * (1 - n / max);
  s.append(svg('line', { class: 'axis', x1: left, x2: w - 8, y1: h - bottom, y2: h - bottom }),
    svg('text', { x: left - 6, y: top + 8, 'text-anchor': 'end', text: max.toLocaleString('en') }),
    svg('text', { x: left - 6, y: h - bottom, 'text-anchor': 'end', text: '0' }));
  const every = Math.ceil(pairs.length / 6);
  pairs.forEach(([name, n], i) => {
    const x = left + i * step + (step - bw) / 2;
    s.append(svg('rect', { class: 'bar', x, y: y(n), width: bw, height: Math.max(n > 0 ? 1 : 0, h - bottom - y(n)), 'data-n': n },
      svg('title', { text: name + ': ' + n.toLocaleString('en') })));
    if (i % every === 0 || i === pairs.length - 1)
      s.append(svg('text', { x: x + bw / 2, y: h - 8, 'text-anchor': 'middle', text: name }));
  });
  return s;
}

/* Findings on a time line: one dot per finding, one lane per exception type. */
function timeline(findings) {
  const pts = findings.map((f) => ({ t: Date.parse(f.at), e: f.exception })).filter((p) => !isNaN(p.t));
  if (pts.length === 0) return el('p', { class: 'muted', text: 'No findings for this device.' });
  const lanes = [...new Set(pts.map((p) => p.e))];
  const w = 760, left = 210, laneH = 26, h = lanes.length * laneH + 30;
  let t0 = Math.min(...pts.map((p) => p.t)), t1 = Math.max(...pts.map((p) => p.t));
  if (t1 - t0 < 60000) { t0 -= 30000; t1 += 30000; }
  const x = (t) => left + (w - left - 20) * (t - t0) / (t1 - t0);
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', role: 'img', 'aria-label': 'findings over time' });
  lanes.forEach((l, i) => {
    const y = i * laneH + 14;
    s.append(svg('text', { x: left - 10, y: y + 4, 'text-anchor': 'end', text: l }),
      svg('line', { class: 'axis', x1: left, x2: w - 20, y1: y, y2: y }));
  });
  for (const p of pts) s.append(svg('circle', { class: 'dot', cx: x(p.t), cy: lanes.indexOf(p.e) * laneH + 14, r: 5 },
    svg('title', { text: p.e + ' at ' + new Date(p.t).toISOString() })));
  const yAxis = lanes.length * laneH + 24;
  s.append(svg('text', { x: left, y: yAxis, text: fmtTime(new Date(t0).toISOString()) }),
    svg('text', { x: w - 20, y: yAxis, 'text-anchor': 'end', text: fmtTime(new Date(t1).toISOString()) }));
  return s;
}

/* ---- a paginated table over a list endpoint: ?after=<cursor>&limit= -> {items, next} ---- */

/* sorts (optional): {column: the API's sort name}: those headers sort on the server (the API's
 * ?sort=name or -name), back to the first page. */
function pagedTable(container, url, cols, empty, cursorKey, sorts) {
  const cursors = [null];
  const sort = sorts ? { by: null, dir: 1, keys: sorts } : null;
  if (sort) sort.click = (k) => {
    sort.dir = sort.by === k ? -sort.dir : 1;
    sort.by = k;
    cursors.length = 1;
    load(0);
  };
  async function load(i) {
    const after = cursors[i];
    const sep = url.includes('?') ? '&' : '?';
    const order = sort && sort.by ? '&sort=' + (sort.dir < 0 ? '-' : '') + sort.keys[sort.by] : '';
    let data;
    try {
      data = await api('GET', url + sep + 'limit=' + PAGE + order + (after !== null ? '&after=' + encodeURIComponent(after) : ''));
    } catch (e) {
      container.replaceChildren(el('p', { class: 'error', text: e.message }));
      return;
    }
    const rows = itemsOf(data);
    if (data.next !== undefined && data.next !== null) cursors[i + 1] = data.next;
    else if (cursorKey && rows.length === PAGE) cursors[i + 1] = rows[rows.length - 1][cursorKey];
    else cursors.length = i + 1;
    container.replaceChildren(table(rows, cols, empty, sort), el('div', { class: 'pager' },
      el('span', { class: 'muted', text: 'page ' + (i + 1) }),
      el('button', { type: 'button', class: 'secondary', disabled: i === 0, onclick: () => load(i - 1), text: 'Previous' }),
      el('button', { type: 'button', class: 'secondary', disabled: cursors.length <= i + 1, onclick: () => load(i + 1), text: 'Next' })));
  }
  return load(0);
}

/* ---- pages ---- */

/* The evidence: the window's features that fired, "name value" each. */
function fired(v) {
  if (!v) return '';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? Object.values(x).join(' ') : String(x))).join('; ');
  if (typeof v === 'object') return Object.entries(v).filter(([k]) => k !== 'exception' && k !== 'level').map(([k, x]) => k + ' ' + (typeof x === 'number' ? +x.toFixed(2) : JSON.stringify(x))).join('; ');
  return String(v);
}

const supiLink = (s) => el('a', { href: '#/device/' + encodeURIComponent(s), text: s });

async function pageFleet(view) {
  const tiles = el('div', { class: 'tiles', id: 'fleet-tiles' });
  const chart = el('div', { id: 'fleet-chart', class: 'chart' });
  const list = el('div', { id: 'fleet-list' });
  const filter = el('select', { id: 'fleet-state', 'aria-label': 'state' },
    ['', 'active', 'pending_activation', 'suspended', 'quarantined', 'expired', 'revoked'].map((s) =>
      el('option', { value: s, text: s ? s.replace('_', ' ') : 'every state' })));
  const search = el('input', { id: 'fleet-search', placeholder: 'imsi-001010000000001', 'aria-label': 'SUPI' });
  const searchErr = el('p', { class: 'error', role: 'alert' });
  const onboarding = el('div', { id: 'fleet-onboarding', class: 'chart' }), expiring = el('div', { id: 'fleet-expiring', class: 'chart' });
  const bucket = el('select', { id: 'onboarding-bucket', 'aria-label': 'bucket' },
    el('option', { value: 'day', text: 'day (30 days)' }), el('option', { value: 'week', text: 'week (12 weeks)' }));
  view.append(el('h1', { text: 'Fleet' }), tiles, card('Subscriptions by state', chart),
    card('Find a device', el('form', { class: 'row', onsubmit: async (e) => {
      e.preventDefault();
      const s = search.value.trim();
      searchErr.textContent = '';
      try { await api('GET', '/admin/v1/subscribers/' + encodeURIComponent(s)); location.hash = '#/device/' + encodeURIComponent(s); }
      catch (err) { searchErr.textContent = err.status === 404 ? 'No subscription ' + s : err.message; }
    } }, el('label', { class: 'grow' }, 'SUPI', search), el('button', { type: 'submit', text: 'Open' })), searchErr),
    el('div', { class: 'two' },
      card('Onboarding over time', el('div', { class: 'row' }, el('label', {}, 'Per', bucket)), onboarding),
      card('Credentials expiring soon', expiring)),
    card('Subscriptions', el('div', { class: 'row' }, el('label', {}, 'State', filter)), list));
  const showOnboarding = () => fleetOnboarding(onboarding, bucket).catch((e) => onboarding.replaceChildren(el('p', { class: 'error', text: e.message })));
  const showExpiring = () => fleetExpiring(expiring).catch((e) => expiring.replaceChildren(el('p', { class: 'error', text: e.message })));
  bucket.addEventListener('change', showOnboarding);
  const showList = () => pagedTable(list, '/admin/v1/subscribers' + (filter.value ? '?state=' + filter.value : ''), [
    ['supi', 'SUPI', supiLink], ['state', 'State', stateBadge], ['gpsi', 'GPSI'], ['owner', 'Account'],
    ['credential_version', 'Credential'], ['created_at', 'Created', fmtTime], ['updated_at', 'Updated', fmtTime]],
  'No subscriptions.', null, { supi: 'supi', created_at: 'created' });
  filter.addEventListener('change', showList);
  const counts = await api('GET', '/admin/v1/subscribers/counts');
  const order = ['active', 'pending_activation', 'suspended', 'quarantined', 'expired', 'revoked'];
  const names = order.filter((s) => s in counts.counts).concat(Object.keys(counts.counts).filter((s) => !order.includes(s)));
  tiles.append(el('div', { class: 'tile' }, el('div', { class: 'n', text: counts.total.toLocaleString('en') }), el('div', { class: 'l', text: 'subscriptions' })),
    ...names.map((s) => el('div', { class: 'tile s-' + s, 'data-state': s },
      el('div', { class: 'n', text: counts.counts[s].toLocaleString('en') }), el('div', { class: 'l', text: s.replace('_', ' ') }))));
  chart.append(barChart(names.map((s) => [s, counts.counts[s]]), { label: 'subscriptions by state' }));
  await Promise.all([showList(), showOnboarding(), showExpiring()]);
}

/* Onboarding over time: the last 30 days, or the last 12 weeks. */
async function fleetOnboarding(container, bucket) {
  const week = bucket.value === 'week';
  const o = await api('GET', '/admin/v1/subscribers/onboarding?bucket=' + (week ? 'week&count=12' : 'day&count=30'));
  container.replaceChildren(columnChart(o.buckets.map((b) => [b.start.slice(5, 10), b.created]),
    { label: 'subscriptions created per ' + o.bucket, width: 440 }),
  el('p', { class: 'muted', id: 'onboarding-total', text: o.total.toLocaleString('en') + ' created in these ' + o.buckets.length + ' ' + o.bucket + 's' }));
}

/* Credentials expiring soon: live subscriptions whose validity ends within 7, 30, 90 days. */
async function fleetExpiring(container) {
  const e = await api('GET', '/admin/v1/subscribers/expiring');
  container.replaceChildren(barChart(e.within.map((w) => ['within_' + w.days + '_days', w.count]),
    { label: 'credentials expiring soon', width: 400, labelW: 110 }));
}

/* Which actions the subscription's state allows (the API answers 409 to the others). */
const ALLOWED = { suspend: ['active'], resume: ['suspended'], quarantine: ['active', 'suspended', 'pending_activation'],
  release: ['quarantined'] };

const ACTIONS = {
  suspend: ['Suspend', 'The device can no longer authenticate until it is resumed. Its credential is kept.', false, ''],
  resume: ['Resume', 'The device may authenticate again.', false, 'secondary'],
  quarantine: ['Quarantine', 'Every 5G authentication of the device is refused, it leaves its message groups (they are rekeyed) and the policy stops acting on it. Say why.', true, 'danger'],
  release: ['Release', 'The device may authenticate again and the policy watches it afresh.', true, 'secondary'],
};

const ROTATE_TEXT = 'A new credential version is staged over the air: the device fetches it at its next contact and ' +
  'confirms it. Until it confirms, its current key keeps working, so it is never locked out. A SIM that never ' +
  'onboarded has no over-the-air channel: then nothing changes and you are told so.';

async function pageDevice(view, supi) {
  const s = await api('GET', '/admin/v1/subscribers/' + encodeURIComponent(supi));
  const msg = el('p', { role: 'status', id: 'device-msg' });
  const buttons = Object.entries(ACTIONS).map(([action, [label, text, reason, cls]]) =>
    roleButton('operator', label, async () => {
      const ok = await confirmAction(label + ' ' + supi + '?', text, reason);
      if (!ok) return;
      try {
        await api('POST', '/admin/v1/subscribers/' + encodeURIComponent(supi) + '/' + action,
          reason ? { reason: ok.reason || undefined } : undefined);
        route();
      } catch (e) { msg.className = 'error'; msg.textContent = label + ' failed: ' + e.message; }
    }, cls));
  const rotate = roleButton('admin', 'Rotate credentials', async () => {
    const ok = await confirmAction('Rotate the credentials of ' + supi + '?', ROTATE_TEXT, false);
    if (!ok) return;
    try {
      const r = await api('POST', '/admin/v1/subscribers/' + encodeURIComponent(supi) + '/rotate');
      msg.className = 'ok';
      msg.textContent = 'Rotation staged: version ' + r.waiting_version + ' waits for the device to fetch and confirm it.';
    } catch (e) { msg.className = 'error'; msg.textContent = 'Rotate refused: ' + e.message; }
  }, 'secondary');
  rotate.id = 'act-rotate';
  if (['revoked', 'expired'].includes(s.state) && !rotate.disabled) {
    rotate.disabled = true;
    rotate.title = 'not while the subscription is ' + s.state;
  }
  buttons.push(rotate);
  buttons.forEach((b, i) => {
    if (b === rotate) return;
    const action = Object.keys(ACTIONS)[i];
    b.setAttribute('id', 'act-' + action);
    if (!ALLOWED[action].includes(s.state) && !b.disabled) {
      b.disabled = true;
      b.title = 'not while the subscription is ' + s.state.replace('_', ' ');
    }
  });
  view.append(el('h1', {}, 'Device ', el('span', { id: 'device-supi', text: supi })),
    card('State', el('dl', { class: 'kv' },
      el('dt', { text: 'State' }), el('dd', { id: 'device-state' }, stateBadge(s.state)),
      el('dt', { text: 'Credential version' }), el('dd', { text: s.credential_version }),
      el('dt', { text: 'Authentication' }), el('dd', { text: s.auth_method || '' }),
      el('dt', { text: 'GPSI' }), el('dd', { text: s.gpsi || '—' }),
      el('dt', { text: 'Account' }), el('dd', { text: s.owner || '—' }),
      el('dt', { text: 'Valid' }), el('dd', { text: (fmtTime(s.not_before) || 'any time') + ' – ' + (fmtTime(s.not_after) || 'no end') }),
      el('dt', { text: 'Created' }), el('dd', { text: fmtTime(s.created_at) })),
    el('div', { class: 'actions' }, buttons), msg));
  const events = (s.events || []).slice().reverse();
  view.append(card('Lifecycle and credential history (who did what)', table(events, [
    ['at', 'When', fmtTime], ['event', 'Event'], ['from', 'From'], ['to', 'To'], ['actor', 'By']], 'No events.')));
  const fCard = card('Findings'), aCard = card('Policy and operator actions');
  const mCard = card('Groups and PINs'), lCard = card('Location against its authorised area');
  mCard.id = 'device-memberships';
  lCard.id = 'device-location';
  view.append(mCard, lCard, fCard, aCard);
  const memberships = deviceMemberships(mCard, supi);
  let f = [];
  try {
    f = itemsOf(await api('GET', '/admin/v1/analytics/findings?limit=200&supi=' + encodeURIComponent(supi)));
    fCard.append(el('div', { class: 'timeline' }, timeline(f)));
    if (f.length) fCard.append(table(f.slice(0, 20), [['at', 'When', fmtTime], ['exception', 'Exception'], ['level', 'Level'],
      ['fired', 'Features that fired', fired]]));
  } catch (e) { fCard.append(el('p', { class: 'error', text: e.message })); }
  try {
    const a = itemsOf(await api('GET', '/admin/v1/devices/' + encodeURIComponent(supi) + '/actions'));
    aCard.append(table(a, [['at', 'When', fmtTime], ['action', 'Action'], ['outcome', 'Outcome'], ['exception', 'Finding'],
      ['actor', 'By', (v, r) => (v === 'policy' ? 'policy (automatic)' : r.principal || 'operator')], ['reason', 'Why']], 'No actions.'));
  } catch (e) { aCard.append(el('p', { class: 'error', text: e.message })); }
  await Promise.all([memberships, deviceLocation(lCard, supi, f)]);
}

/* Message groups and PINs (read-only: the group and PIN capabilities' own reads). */
async function deviceMemberships(c, supi) {
  let m;
  try { m = await api('GET', '/admin/v1/subscribers/' + encodeURIComponent(supi) + '/memberships'); }
  catch (e) { c.append(el('p', { class: 'error', text: e.message })); return; }
  const yes = (v) => (v ? 'yes' : 'no');
  c.append(el('h3', { text: 'Message groups' }),
    table(m.groups, [['external_id', 'Group'], ['owner', 'Owner'], ['members', 'Members'],
      ['confidential', 'Confidential', yes], ['epoch', 'Key epoch']], 'In no message group.'),
    el('h3', { text: 'Personal IoT networks' }),
    el('dl', { class: 'kv', id: 'device-pin-roles' },
      el('dt', { text: 'Gateway (PEGC)' }), el('dd', { text: yes(m.pin_roles.gateway) }),
      el('dt', { text: 'Manager (PEMC)' }), el('dd', { text: yes(m.pin_roles.manager) })),
    table(m.pins, [['pin_id', 'PIN'], ['name', 'Name'], ['owner', 'Owner'], ['as', 'As']], 'Serves and manages no PIN.'));
}

function areaText(a) {
  const cell = (c) => c.plmnId.mcc + '-' + c.plmnId.mnc + ' cell ' + c.nrCellId;
  const ta = (t) => t.plmnId.mcc + '-' + t.plmnId.mnc + ' TA ' + t.tac;
  if (a.cells) return a.cells.length + ' cell(s): ' + a.cells.map(cell).join(', ');
  if (a.tais) return a.tais.length + ' tracking area(s): ' + a.tais.map(ta).join(', ');
  if (a.circle) return 'within ' + Math.round(a.circle.radius) + ' m of ' + a.circle.lat.toFixed(5) + ', ' + a.circle.lon.toFixed(5);
  if (a.polygon) return 'a polygon of ' + a.polygon.length + ' points';
  return a.stationary ? 'stationary: the first cell it is seen in' : 'none';
}

/* The authorised area, the last known location (inside or outside it), and every time it was
 * seen outside (the UNEXPECTED_UE_LOCATION findings, with their evidence). */
async function deviceLocation(c, supi, findings) {
  const enc = encodeURIComponent(supi);
  const [area, last] = await Promise.all([
    api('GET', '/admin/v1/location/areas/' + enc).catch((e) => (e.status === 404 ? null : { error: e.message })),
    api('GET', '/admin/v1/location/devices/' + enc).catch((e) => (e.status === 404 ? null : { error: e.message }))]);
  const where = (l) => [l.ncgi ? 'cell ' + l.ncgi.nrCellId : '', l.tai ? 'TA ' + l.tai.tac : ''].filter((x) => x).join(', ');
  c.append(el('dl', { class: 'kv' },
    el('dt', { text: 'Authorised area' }), el('dd', { id: 'device-area', text: area === null ? 'none: it may be anywhere' : area.error || areaText(area) }),
    el('dt', { text: 'Last known location' }), el('dd', { id: 'device-last-location' },
      last === null ? 'no event since the daemon started' : last.error || [fmtTime(last.time) + ' ' + where(last) + ' ',
        area ? el('span', { class: last.outsideAuthorisedArea ? 'state quarantined' : 'state active',
          text: last.outsideAuthorisedArea ? 'outside its area' : 'inside its area' }) : ''])));
  const outside = findings.filter((x) => x.exception === 'UNEXPECTED_UE_LOCATION');
  c.append(el('h3', { text: 'Seen outside its area' }), el('div', { id: 'device-location-outside' }, table(outside, [['at', 'When', fmtTime],
    ['level', 'Level'], ['cause', 'Cause']], 'Never seen outside its area.')));
  await locationHistory(c, supi);
}

/* ---- location history (GET /admin/v1/devices/{supi}/locations, newest first) ---- */

const FIX_LABEL = { inside: 'inside its area', outside: 'outside its area', unrestricted: 'no area set' };
const fixBadge = (v) => el('span', { class: 'fix fix-' + v, text: FIX_LABEL[v] || v });
const fixTime = (v) => String(v || '').replace('T', ' '); // with its milliseconds: fixes come close together
const fixCell = (l) => (l ? l.plmnId.mcc + '-' + l.plmnId.mnc + ' ' + (l.nrCellId || l.tac) : '');

/* The latest fixes on a time line: one lane per cell (the most recent cells first), one dot per
 * fix, red when outside the authorised area, green inside, grey when the device has none. */
function fixTimeline(fixes) {
  const pts = fixes.map((f) => ({ t: Date.parse(f.time), lane: f.ncgi ? 'cell ' + f.ncgi.nrCellId : 'TA ' + (f.tai ? f.tai.tac : '?'), f }))
    .filter((p) => !isNaN(p.t));
  if (pts.length === 0) return el('p', { class: 'muted', text: 'No location recorded for this device.' });
  const MAX_LANES = 8;
  let lanes = [...new Set(pts.map((p) => p.lane))];
  if (lanes.length > MAX_LANES) lanes = lanes.slice(0, MAX_LANES - 1).concat(['other cells']);
  const laneOf = (p) => (lanes.includes(p.lane) ? lanes.indexOf(p.lane) : lanes.length - 1);
  const w = 760, left = 150, laneH = 24, h = lanes.length * laneH + 30;
  let t0 = Math.min(...pts.map((p) => p.t)), t1 = Math.max(...pts.map((p) => p.t));
  if (t1 - t0 < 60000) { t0 -= 30000; t1 += 30000; }
  const x = (t) => left + (w - left - 20) * (t - t0) / (t1 - t0);
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: '100%', role: 'img', id: 'device-location-timeline',
    'aria-label': 'location fixes over time, outside-area fixes in red' });
  lanes.forEach((l, i) => {
    const y = i * laneH + 14;
    s.append(svg('text', { x: left - 10, y: y + 4, 'text-anchor': 'end', text: l }),
      svg('line', { class: 'axis', x1: left, x2: w - 20, y1: y, y2: y }));
  });
  for (const p of pts) s.append(svg('circle', { class: 'fix-dot ' + p.f.areaCheck, cx: x(p.t), cy: laneOf(p) * laneH + 14, r: 5,
    'data-check': p.f.areaCheck }, svg('title', { text: p.lane + ' at ' + fmtTime(p.f.time) + ': ' + (FIX_LABEL[p.f.areaCheck] || '') })));
  const yAxis = lanes.length * laneH + 24;
  s.append(svg('text', { x: left, y: yAxis, text: fmtTime(new Date(t0).toISOString()) }),
    svg('text', { x: w - 20, y: yAxis, 'text-anchor': 'end', text: fmtTime(new Date(t1).toISOString()) }));
  return s;
}

/* The history panel: the latest 200 fixes drawn, and every fix in a table paged by the server
 * (newest first; the outside ones marked). */
async function locationHistory(c, supi) {
  const url = '/admin/v1/devices/' + encodeURIComponent(supi) + '/locations';
  const chart = el('div', { class: 'timeline', id: 'device-location-chart' }), list = el('div', { id: 'device-location-history' });
  const summary = el('p', { class: 'muted', id: 'device-location-summary' });
  c.append(el('h3', { text: 'Location history' }), summary, chart, list);
  try {
    const latest = itemsOf(await api('GET', url + '?limit=200'));
    const out = latest.filter((f) => f.areaCheck === 'outside').length;
    summary.textContent = latest.length === 0 ? '' : `The latest ${latest.length} fixes: ${out} outside its authorised area.`;
    chart.append(fixTimeline(latest));
  } catch (e) { chart.append(el('p', { class: 'error', text: e.message })); return; }
  await pagedTable(list, url, [['time', 'When', fixTime], ['ncgi', 'Cell', fixCell], ['tai', 'Tracking area', fixCell],
    ['areaCheck', 'Area check', fixBadge], ['cause', 'Why outside']], 'No location recorded for this device.');
}

const EXCEPTIONS = ['', 'UNEXPECTED_UE_LOCATION', 'UNEXPECTED_LONG_LIVE_FLOW', 'UNEXPECTED_LARGE_RATE_FLOW',
  'UNEXPECTED_WAKEUP', 'SUSPICION_OF_DDOS_ATTACK', 'WRONG_DESTINATION_ADDRESS', 'TOO_FREQUENT_SERVICE_ACCESS',
  'UNEXPECTED_RADIO_LINK_FAILURES', 'PING_PONG_ACROSS_CELLS'];

/* The findings list's filters go to the admin API as they are (group: the device's mapping
 * group, a building or a fleet; enrollment: its provisioning enrollment): the daemon filters
 * and checks them, a bad value comes back as its 400 and is shown. */
function findingsQuery(exception, group, enrollment) {
  const q = new URLSearchParams();
  if (exception) q.set('exception', exception);
  if (group) q.set('group', group);
  if (enrollment) q.set('enrollment', enrollment);
  const s = q.toString();
  return s ? '?' + s : '';
}

async function pageFindings(view) {
  const chart = el('div', { id: 'findings-chart', class: 'chart' }), list = el('div', { id: 'findings-list' });
  const filter = el('select', { id: 'findings-exception', 'aria-label': 'exception' },
    EXCEPTIONS.map((x) => el('option', { value: x, text: x || 'every exception' })));
  const group = el('input', { id: 'findings-group', placeholder: 'building-7', 'aria-label': 'group or building' });
  const enrollment = el('input', { id: 'findings-enrollment', placeholder: 'name or id', 'aria-label': 'enrollment' });
  const apply = el('button', { type: 'button', id: 'findings-apply', text: 'Apply' });
  const conditions = el('div', { id: 'conditions-list' });
  const condState = el('select', { id: 'conditions-state', 'aria-label': 'condition state' },
    [['open', 'open'], ['closed', 'closed'], ['', 'open and closed']].map(([v, t]) => el('option', { value: v, text: t })));
  view.append(el('h1', { text: 'Findings' }),
    card('Fleet conditions (an outage of most of a group: not blamed on its devices)',
      el('div', { class: 'row' }, el('label', {}, 'State', condState)), conditions),
    card('By exception type (the latest 1000)', chart),
    card('Findings', el('div', { class: 'row' }, el('label', {}, 'Exception', filter),
      el('label', {}, 'Group / building', group), el('label', {}, 'Enrollment', enrollment), apply), list));
  const showConditions = () => {
    const q = new URLSearchParams();
    if (condState.value) q.set('state', condState.value);
    if (group.value.trim()) q.set('group', group.value.trim());
    const qs = q.toString();
    return pagedTable(conditions, '/admin/v1/analytics/conditions' + (qs ? '?' + qs : ''), [
      ['group', 'Group'], ['kind', 'Condition'], ['share_pct', 'Share', (v) => v + '%'],
      ['devices', 'Devices'], ['active', 'Active'],
      ['destinations', 'Destinations', (v) => (v || []).map((d) => d.endpoint + ':' + d.port).join(', ')],
      ['first_seen', 'First seen', fmtTime], ['last_seen', 'Last seen', fmtTime],
      ['closed_at', 'Closed', (v) => (v ? fmtTime(v) : 'open')]], 'No fleet conditions.');
  };
  const show = () => pagedTable(list, '/admin/v1/analytics/findings' +
    findingsQuery(filter.value, group.value.trim(), enrollment.value.trim()), [
    ['id', '#'], ['at', 'When', fmtTime], ['supi', 'Device', (v) => (v ? supiLink(v) : '')], ['exception', 'Exception'],
    ['level', 'Level'], ['fired', 'Evidence: features that fired', fired]], 'No findings.');
  filter.addEventListener('change', show);
  apply.addEventListener('click', () => Promise.all([show(), showConditions()]));
  for (const i of [group, enrollment]) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply.click(); });
  condState.addEventListener('change', showConditions);
  await showConditions();
  const recent = itemsOf(await api('GET', '/admin/v1/analytics/findings?limit=1000'));
  const by = {};
  for (const f of recent) by[f.exception] = (by[f.exception] || 0) + 1;
  const pairs = Object.entries(by).sort((a, b) => b[1] - a[1]);
  chart.append(pairs.length ? barChart(pairs, { label: 'findings by exception' }) : el('p', { class: 'muted', text: 'No findings yet.' }));
  await show();
}

async function pageProvisioning(view) {
  const result = el('div', { id: 'activation-result' });
  const progress = el('progress', { id: 'activation-progress', max: 100, value: 0, hidden: true });
  const file = el('input', { type: 'file', id: 'activation-file', accept: '.jsonl,.json,.txt,application/json' });
  const upload = roleButton('operator', 'Activate', () => bulkActivate(file, progress, result));
  upload.id = 'activation-submit';
  const mfr = card('Manufacturers'), enr = card('Enrollments'), dev = provisionedDevices();
  const pendingList = el('div'), pending = card('Pending activations', pendingList);
  view.append(el('h1', { text: 'Provisioning' }),
    card('Bulk activation', el('p', { class: 'muted', text: 'A file of JSON lines: {"registration_id" or "serial", "account", "service"}. All lines or none.' }),
      el('div', { class: 'row' }, el('label', { class: 'grow' }, 'File', file), upload), progress, result),
    pending, mfr, enr, dev);
  pagedTable(pendingList, '/admin/v1/activations?state=pending', [['registration_id', 'Registration'], ['serial', 'Serial'],
    ['account', 'Account'], ['created_at', 'Since', fmtTime]], 'No activation is waiting for its device.');
  const load = async (c, url, cols) => {
    try { c.append(sortedTable(itemsOf(await api('GET', url)), cols)); } catch (e) { c.append(el('p', { class: 'error', text: e.message })); }
  };
  await Promise.all([dev.ready,
    load(mfr, '/admin/v1/manufacturers', [['id', '#'], ['name', 'Name'], ['ca_sha256', 'CA (SHA-256)']]),
    load(enr, '/admin/v1/enrollments', [['id', '#'], ['kind', 'Kind'], ['attestation', 'Attestation'], ['owner', 'Owner'],
      ['enabled', 'Enabled', (v) => (v ? 'yes' : 'no')], ['requires_activation', 'Needs activation', (v) => (v ? 'yes' : 'no')], ['devices', 'Devices']]),
  ]);
}

/* Onboarded devices: pages sorted by the server (onboarding order or registration id, either
 * way) and an exact search by registration id, SUPI or serial; never the whole table. */
function provisionedDevices() {
  const list = el('div', { id: 'devices-list' }), err = el('p', { class: 'error', role: 'alert' });
  const search = el('input', { id: 'devices-search', placeholder: 'registration id, SUPI or serial', 'aria-label': 'search devices' });
  const cols = [['id', '#'], ['registration_id', 'Registration'], ['supi', 'SUPI', (v) => (v ? supiLink(v) : '')],
    ['account', 'Account'], ['state', 'State'], ['credential_version', 'Credential']];
  const show = () => {
    const q = search.value.trim();
    return pagedTable(list, '/admin/v1/devices' + (q ? '?search=' + encodeURIComponent(q) : ''), cols,
      q ? 'No device has the registration id, SUPI or serial ' + q + '.' : 'No device has onboarded yet.', null,
      q ? null : { id: 'created', registration_id: 'registration' });
  };
  const c = card('Onboarded devices', el('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); show(); } },
    el('label', { class: 'grow' }, 'Search', search), el('button', { type: 'submit', class: 'secondary', text: 'Search' }),
    el('button', { type: 'button', class: 'secondary', text: 'Clear', onclick: () => { search.value = ''; show(); } })), err, list);
  c.id = 'devices';
  c.ready = show();
  return c;
}

async function bulkActivate(file, progress, result) {
  result.replaceChildren();
  const f = file.files && file.files[0];
  if (!f) { result.append(el('p', { class: 'error', text: 'Choose a file first.' })); return; }
  progress.hidden = false; progress.value = 10;
  const lines = (await f.text()).split(/\r?\n/).map((l, i) => [i + 1, l.trim()]).filter(([, l]) => l && !l.startsWith('#'));
  const items = [], bad = [];
  for (const [n, l] of lines) {
    try { const o = JSON.parse(l); if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('not an object'); items.push(o); }
    catch (e) { bad.push({ line: n, result: 'not JSON: ' + e.message }); }
  }
  progress.value = 40;
  if (bad.length || items.length === 0) {
    progress.hidden = true;
    result.append(el('p', { class: 'error', text: items.length === 0 && !bad.length ? 'The file has no lines.' : 'Nothing was sent: fix these lines.' }),
      table(bad, [['line', 'Line'], ['result', 'Problem']]));
    return;
  }
  try {
    const r = await api('POST', '/admin/v1/activations', { items });
    progress.value = 100;
    result.append(el('p', { class: 'ok', text: `${r.activated} activated, ${r.pending} pending (the device has not onboarded yet)` }),
      table(r.lines || [], [['line', 'Line'], ['registration_id', 'Registration'], ['serial', 'Serial'], ['result', 'Result']]));
  } catch (e) {
    progress.hidden = true;
    result.append(el('p', { class: 'error', text: 'Nothing was activated: ' + e.message }));
  }
}

async function pageExposure(view) {
  const afs = card('Application functions (AFs)');
  const consentList = el('div'), consents = card('Consents', consentList);
  const monList = el('div', { id: 'monitoring-list' }), monitoring = card('Monitoring subscriptions (T8)', monList);
  view.append(el('h1', { text: 'Exposure' }), afs, consents, monitoring);
  pagedTable(monList, '/admin/v1/monitoring-subscriptions', [['af_id', 'AF'], ['subscription_id', 'Subscription'],
    ['monitoring_type', 'Type'], ['external_id', 'Device (external ID)'],
    ['reports', 'Reports', (v, r) => (r.maximum_number_of_reports ? v + ' of ' + r.maximum_number_of_reports : v)],
    ['created_at', 'Since', fmtTime], ['expires_at', 'Until', (v) => (v ? fmtTime(v) : 'no end')]], 'No monitoring subscription.');
  pagedTable(consentList, '/admin/v1/consents', [['consent_id', 'Consent'], ['af_id', 'AF'], ['owner', 'Owner'],
    ['scope', 'Scope'], ['supi', 'Device', (v) => (v ? supiLink(v) : '')], ['group', 'Group'], ['state', 'State'],
    ['created_at', 'Granted', fmtTime]], 'No consents granted.');
  afs.id = 'afs';
  afs.append(sortedTable(itemsOf(await api('GET', '/admin/v1/afs')), [['af_id', 'AF'], ['name', 'Name'], ['state', 'State'],
    ['services', 'Services', (v) => (Array.isArray(v) ? v.join(', ') : v)], ['cert_sha256', 'Certificate (SHA-256)', (v) => (v ? v.slice(0, 16) + '…' : '')]],
  'No AFs registered.'));
}

async function pageAudit(view) {
  const out = el('div', { id: 'verify-result', role: 'status' }), list = el('div');
  const af = el('input', { id: 'audit-af', placeholder: 'af-…', 'aria-label': 'AF' });
  const verify = el('button', { type: 'button', id: 'audit-verify', text: 'Verify chain', onclick: async () => {
    out.replaceChildren(el('span', { class: 'muted', text: 'verifying…' }));
    try {
      const v = await api('GET', '/admin/v1/audit/verify');
      out.replaceChildren(v.ok ? el('span', { class: 'ok', text: `Chain intact: ${v.records} records, head ${v.head_hash.slice(0, 16)}…` })
        : el('span', { class: 'bad', text: `Chain broken at record ${v.first_bad_seq}: ${v.detail}` }));
    } catch (e) { out.replaceChildren(el('span', { class: 'error', text: e.message })); }
  } });
  view.append(el('h1', { text: 'Audit' }), card('Hash chain', el('div', { class: 'row' }, verify, out)),
    card('Records', el('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); show(); } },
      el('label', {}, 'AF', af), el('button', { type: 'submit', class: 'secondary', text: 'Filter' })), list));
  const show = () => pagedTable(list, '/admin/v1/audit' + (af.value.trim() ? '?af=' + encodeURIComponent(af.value.trim()) : ''), [
    ['seq', '#'], ['time_ms', 'When', fmtTime], ['principal', 'Who'], ['action', 'Action'], ['resource', 'Resource'],
    ['allow', 'Decision', (v) => (v ? 'allow' : 'deny')], ['reason', 'Reason']], 'No records.', 'seq');
  await show();
}

/* ---- routing, login ---- */

const PAGES = { fleet: pageFleet, device: pageDevice, findings: pageFindings, provisioning: pageProvisioning,
  exposure: pageExposure, audit: pageAudit };

async function route() {
  if (!session.name) return;
  const [, name, arg] = (location.hash.match(/^#\/([a-z]+)(?:\/(.*))?$/) || [null, 'fleet']);
  const page = PAGES[name] ? name : 'fleet';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('current', a.dataset.page === page);
  const view = el('section', { id: 'view', 'data-page': page });
  $('view').replaceWith(view);
  try {
    await PAGES[page](view, arg ? decodeURIComponent(arg) : undefined);
    view.setAttribute('data-ready', '1');
  } catch (e) {
    if (e.status !== 401) view.append(el('p', { class: 'error', role: 'alert', text: e.message }));
    view.setAttribute('data-ready', '1');
  }
}

function showLogin(message) {
  session.name = session.role = session.csrf = null;
  $('top').hidden = true;
  $('view').replaceChildren();
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-name').focus();
}

function loggedIn(s) {
  Object.assign(session, { name: s.name, role: s.role, csrf: s.csrf });
  $('login').hidden = true;
  $('top').hidden = false;
  $('who-name').textContent = s.name;
  $('who-role').textContent = s.role;
  route();
}

async function login(e) {
  e.preventDefault();
  const body = { name: $('login-name').value.trim(), password: $('login-password').value };
  if ($('login-totp').value.trim()) body.totp = $('login-totp').value.trim();
  $('login-password').value = '';
  try {
    loggedIn(await api('POST', '/console/v1/login', body));
  } catch (err) {
    $('login-error').textContent = err.status === 401 ? 'Wrong name, password or code.' : err.message;
  }
}

document.addEventListener('DOMContentLoaded', async () => {
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/console/v1/logout'); } catch (e) { /* gone already */ }
    showLogin('Logged out.');
  });
  window.addEventListener('hashchange', route);
  try {
    const res = await fetch('/console/v1/session', { credentials: 'same-origin' });
    if (res.ok) loggedIn(await res.json());
    else showLogin();
  } catch (e) { showLogin(); }
});
