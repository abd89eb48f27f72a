// The pre-screening page: sends the case to /v1/classify and shows the verdict with the
// evidence highlighted in the text. User text only ever reaches the page as text nodes
// (textContent / createTextNode), never as markup.
'use strict';

const $ = (id) => document.getElementById(id);

/** The live rule set's labels and each category's label, from /v1/rules. */
const policy = { labels: [], categoryLabel: new Map() };

const EXAMPLE = {
  subject: 'Tomcat 10 fails to start after enabling HTTPS',
  description: [
    'Hi team,',
    '',
    'since we enabled the HTTPS connector, Tomcat 10 on our Ubuntu 22.04 VM fails to start: ' +
      'catalina.out shows "java.io.IOException: keystore password was incorrect". This is not ' +
      'a security incident – nothing was hacked, we only rotated the certificate.',
    '',
    '> On Monday, Support wrote:',
    '> Please confirm whether the VM was compromised or infected with malware.',
    '',
    'Best regards,',
    'Jörg Müller',
    'Café Zürich ☕ – IT operations',
  ].join('\n'),
};

/** The colour class of a label: by its position in the policy's label list. */
function labelClass(label) {
  const i = policy.labels.indexOf(label);
  return i >= 0 && i < 4 ? `label-${i}` : 'label-other';
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function none(text) {
  return el('span', 'none', text);
}

/**
 * Maps UTF-8 byte offsets of `text` (as the service reports spans) to JavaScript string
 * indices (UTF-16 code units). Offsets inside a character map to -1.
 */
function byteToUtf16(text) {
  const map = [];
  let bytes = 0;
  let units = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    const width = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    map[bytes] = units;
    for (let k = 1; k < width; k++) map[bytes + k] = -1;
    bytes += width;
    units += ch.length;
  }
  map[bytes] = units;
  return map;
}

/** How an evidence entry is shown, most telling first. */
function kind(ev) {
  if (ev.stops) return 'stopper';
  if (ev.counted) return 'fire';
  if (ev.negated) return 'negated';
  if (ev.zone === 'quote' || ev.zone === 'signature' || ev.zone === 'disclaimer') return 'boilerplate';
  return 'ignored';
}
const RANK = { fire: 0, negated: 1, stopper: 2, boilerplate: 3, ignored: 4 };
const WHY = {
  fire: 'fires',
  negated: 'negated',
  stopper: 'stopped by these words (an exclusion)',
  boilerplate: 'not counted',
  ignored: 'not counted',
};

function describe(ev) {
  const k = kind(ev);
  const zone = ev.zone === 'body' ? '' : `, in ${ev.zone}`;
  return `${ev.rule} [${ev.category}]: ${WHY[k]}${zone}`;
}

/**
 * Fills `target` with `text`, the evidence spans of this field wrapped in <mark> elements.
 * Overlapping spans are cut at every span edge; each piece shows the most telling kind among
 * the spans covering it and lists all of their rules in its tooltip.
 */
function renderText(target, text, evidence) {
  target.replaceChildren();
  const map = byteToUtf16(text);
  const spans = [];
  for (const ev of evidence) {
    const start = map[ev.start];
    const end = map[ev.end];
    if (start === undefined || end === undefined || start < 0 || end < 0 || end <= start) continue;
    spans.push({ start, end, ev });
  }
  const cuts = new Set([0, text.length]);
  for (const s of spans) {
    cuts.add(s.start);
    cuts.add(s.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const piece = text.slice(a, b);
    const covering = spans.filter((s) => s.start <= a && s.end >= b);
    if (covering.length === 0) {
      target.append(document.createTextNode(piece));
      continue;
    }
    const kinds = covering.map((s) => kind(s.ev)).sort((x, y) => RANK[x] - RANK[y]);
    const best = kinds[0];
    // Words that stopped a rule keep that mark (an outline) under whatever else they show.
    const stops = best !== 'stopper' && kinds.includes('stopper') ? ' ev-stopper' : '';
    const mark = el('mark', `ev ev-${best}${stops}`, piece);
    const rules = [...new Set(covering.map((s) => describe(s.ev)))];
    mark.title = rules.join('\n');
    mark.dataset.rules = [...new Set(covering.map((s) => s.ev.rule))].join(' ');
    target.append(mark);
  }
}

function chip(text, className) {
  return el('span', `chip ${className || ''}`.trim(), text);
}

function render(verdict, ticket) {
  $('error').hidden = true;
  const label = $('label');
  label.textContent = verdict.label;
  label.className = `label ${labelClass(verdict.label)}`;
  $('category').textContent = verdict.category ? verdict.category : 'no category fired';
  $('review').hidden = !verdict.review;
  $('reason').textContent = verdict.reason;

  const vendor = $('vendor');
  vendor.replaceChildren(verdict.vendor ? document.createTextNode(verdict.vendor) : none('none named'));

  const categories = $('categories');
  categories.replaceChildren();
  for (const name of verdict.categories) {
    const c = chip('', name === verdict.category ? 'deciding' : '');
    const dot = el('span', `dot ${labelClass(policy.categoryLabel.get(name))}`);
    c.append(dot, document.createTextNode(name));
    const catLabel = policy.categoryLabel.get(name);
    if (catLabel) c.title = `label: ${catLabel}`;
    categories.append(c);
  }
  if (verdict.categories.length === 0) categories.append(none('none'));

  const systems = $('systems');
  systems.replaceChildren();
  for (const e of verdict.entities) {
    const release = e.release ? ` ${e.release}` : '';
    const where = e.inside_matrix ? 'inside matrix' : 'outside matrix';
    const extra = e.negated ? ', negated' : e.zone !== 'body' ? `, in ${e.zone}` : '';
    systems.append(chip(`${e.name}${release} (${where}${extra})`));
  }
  if (verdict.entities.length === 0) systems.append(none('none mentioned'));

  const rules = $('rules');
  rules.replaceChildren();
  for (const id of verdict.rules) rules.append(chip(id, 'rule'));
  if (verdict.rules.length === 0) rules.append(none('none'));

  // Rules whose patterns matched but an exclusion stopped: the maintainer's "why not?".
  const vetoed = $('vetoed');
  vetoed.replaceChildren();
  const stoppers = [];
  for (const v of verdict.vetoed || []) {
    const c = chip(v.rule, 'rule stopped');
    c.title = `stopped by: ${[...new Set(v.by.map((ev) => ev.text))].join(', ')}`;
    vetoed.append(c);
    for (const ev of v.by) stoppers.push({ ...ev, stops: true });
  }
  if (vetoed.childElementCount === 0) vetoed.append(none('none'));

  for (const field of ['subject', 'description']) {
    renderText(
      $(`text-${field}`),
      ticket[field],
      verdict.evidence.concat(stoppers).filter((ev) => ev.field === field),
    );
  }
  $('result').hidden = false;
}

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  $('result').hidden = true;
}

async function classify() {
  const ticket = { subject: $('subject').value, description: $('description').value };
  const button = $('run');
  button.disabled = true;
  $('status').textContent = 'Pre-screening…';
  try {
    const started = performance.now();
    // The rule set may have been reloaded since the page was opened: refresh its colours and
    // header along with the verdict.
    const [response] = await Promise.all([
      fetch('/v1/classify?explain=true', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(ticket),
      }),
      loadRules(),
    ]);
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      showError(body && body.error ? `${response.status}: ${body.error}` : `HTTP ${response.status}`);
      $('status').textContent = '';
      return;
    }
    render(body, ticket);
    $('status').textContent = `done in ${Math.round(performance.now() - started)} ms`;
  } catch (e) {
    showError(`Cannot reach the service: ${e.message}`);
    $('status').textContent = '';
  } finally {
    button.disabled = false;
  }
}

async function loadRules() {
  try {
    const response = await fetch('/v1/rules');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const rules = await response.json();
    policy.labels = rules.labels;
    for (const c of rules.categories) policy.categoryLabel.set(c.name, c.label);
    $('ruleset').textContent =
      `rules: ${rules.name} ${rules.version} · hash ${rules.hash} · ${rules.rule_count} rules`;
    $('ruleset').title = `source: ${rules.source}`;
  } catch (e) {
    $('ruleset').textContent = `rules: unknown (${e.message})`;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('case').addEventListener('submit', (event) => {
    event.preventDefault();
    classify();
  });
  $('case').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      classify();
    }
  });
  $('example').addEventListener('click', () => {
    $('subject').value = EXAMPLE.subject;
    $('description').value = EXAMPLE.description;
    $('description').focus();
  });
  loadRules();
});
