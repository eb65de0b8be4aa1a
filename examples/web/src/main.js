// The demo page: pick a model (cached, URL, or local file), load it with progress, and chat
// with it, streaming token by token. Everything below goes through wasm-chord's public API.
//
// Test hooks: window.wasmChord is the package's module namespace; window.demo is
// { model, lastError, busy }, kept current; elements carry data-testid attributes.
import * as wasmChord from 'wasm-chord';
import { loadModel, listCached, removeCached } from 'wasm-chord';
import { ChatView } from './chat-view.js';
import { describeError, isAbort } from './error-text.js';
import { absoluteUrl, baseName, formatBytes, formatMs, formatParams, formatProgressBytes, formatRate } from './format.js';
import './page.css';
import './model-panel.css';
import './chat.css';

const $ = (id) => document.getElementById(id);

/** The state tests read: the loaded Model (or null), the last failure (null once an action succeeds), busy while loading or generating. */
const demo = { model: null, lastError: null, busy: false };
window.wasmChord = wasmChord;
window.demo = demo;

/** What the page is doing: 'idle' | 'loading' | 'generating'. */
let activity = 'idle';
let loadController = null;
let generateController = null;
/** The conversation as the model sees it (without the system prompt). */
let history = [];
/** The cache key (sha256 or name) of the loaded model, when it came from the cache. */
let loadedCacheKey = null;
/** The absolute URL of the loaded model, when it came from a URL (its cache entry has it). */
let loadedUrl = null;

const chat = new ChatView($('messages'), $('empty-chat'));

// ── status and errors ───────────────────────────────────────────────────────────────────────

function renderStatus() {
  const errorShown = !$('error-banner').hidden;
  const text =
    activity === 'loading' ? 'loading'
    : activity === 'generating' ? 'generating'
    : errorShown ? 'error'
    : demo.model ? 'ready'
    : 'no model';
  const el = document.querySelector('[data-testid="status"]');
  el.textContent = text;
  el.dataset.state = text.replace(' ', '-');
  renderControls();
}

function setActivity(next) {
  activity = next;
  demo.busy = next !== 'idle';
  document.body.dataset.activity = next;
  renderStatus();
}

function showError(error) {
  demo.lastError = error;
  const { sentence, code, message } = describeError(error);
  const banner = $('error-banner');
  banner.querySelector('.error-sentence').textContent = sentence;
  banner.querySelector('.error-code').textContent = code;
  banner.querySelector('.error-message').textContent = message;
  banner.hidden = false;
  renderStatus();
}

function clearError() {
  demo.lastError = null;
  $('error-banner').hidden = true;
  renderStatus();
}

function renderControls() {
  const loading = activity === 'loading';
  const generating = activity === 'generating';
  for (const el of [$('url-input'), $('load-url'), $('file-input')]) el.disabled = demo.busy;
  $('dropzone').classList.toggle('disabled', demo.busy);
  for (const b of document.querySelectorAll('.cached-list button')) b.disabled = demo.busy || b.dataset.inUse === 'true';
  $('prompt').disabled = !demo.model || loading;
  $('send').hidden = generating;
  $('send').disabled = !demo.model || demo.busy;
  $('stop').hidden = !generating;
  $('stop').disabled = !generating;
  for (const b of document.querySelectorAll('#suggestions .chip')) b.disabled = loading || generating;
}

// ── loading ─────────────────────────────────────────────────────────────────────────────────

const PHASES = {
  download: 'Downloading to the cache',
  cache: 'Reading from the cache',
  load: 'Copying into memory',
};

function showProgress({ loaded = 0, total = 0, phase } = {}) {
  const box = $('progress');
  box.hidden = false;
  box.dataset.phase = phase ?? '';
  box.dataset.loaded = String(loaded);
  box.dataset.total = String(total);
  const label = $('progress-phase');
  label.replaceChildren();
  if (phase) {
    const tag = document.createElement('span');
    tag.className = 'phase-tag';
    tag.textContent = phase;
    label.append(tag, ` ${PHASES[phase] ?? ''}`);
  } else {
    label.textContent = 'Starting…';
  }
  const fraction = total > 0 ? Math.min(1, loaded / total) : 0;
  $('progress-figures').textContent =
    loaded > 0 || total > 0 ? `${formatProgressBytes(loaded, total)}${total > 0 ? ` · ${Math.floor(fraction * 100)}%` : ''}` : '';
  box.classList.toggle('indeterminate', !(total > 0));
  $('progress-bar').style.width = `${(fraction * 100).toFixed(1)}%`;
  box.setAttribute('role', 'progressbar');
  box.setAttribute('aria-valuemin', '0');
  box.setAttribute('aria-valuemax', '100');
  box.setAttribute('aria-valuenow', String(Math.floor(fraction * 100)));
}

/** Loads `source` (URL, File, or cached key) in place of the current model. */
async function load(source, { label, cacheKey = null, url = null } = {}) {
  if (demo.busy) return;
  clearError();
  if (demo.model) {
    demo.model.dispose();
    demo.model = null;
    loadedCacheKey = null;
    loadedUrl = null;
  }
  renderInfo(null);
  history = [];
  chat.clear();
  resetStats();
  const controller = new AbortController();
  loadController = controller;
  setActivity('loading');
  showProgress();
  $('chat-title').textContent = `Loading ${label}…`;
  $('chat-subtitle').textContent = 'The model runs in a Web Worker; the page stays responsive.';
  const started = performance.now();
  try {
    const gpu = { auto: 'auto', gpu: true, cpu: false }[$('device').value] ?? 'auto';
    const model = await loadModel(source, { gpu, signal: controller.signal, onProgress: showProgress });
    demo.model = model;
    loadedCacheKey = cacheKey;
    loadedUrl = url;
    renderInfo(model, { label, ms: performance.now() - started });
  } catch (error) {
    if (isAbort(error)) chat.addNote('Loading was cancelled.');
    else showError(error);
    renderInfo(null);
  } finally {
    loadController = null;
    $('progress').hidden = true;
    setActivity('idle');
    refreshCache();
  }
  if (demo.model) {
    $('prompt').focus({ preventScroll: true });
    // One column: the chat sits below the model panel, so bring it into view.
    if (matchMedia('(max-width: 880px)').matches) $('chat').scrollIntoView({ block: 'start' });
  }
}

function renderInfo(model, { label, ms } = {}) {
  const card = $('info-card');
  const list = $('info');
  list.replaceChildren();
  $('model-heading').textContent = model ? 'Load another model' : 'Load a model';
  if (!model) {
    card.hidden = true;
    $('chat-title').textContent = 'No model loaded';
    $('chat-subtitle').textContent = 'Pick a model on the left to start.';
    return;
  }
  const info = model.info;
  const rows = [
    ['name', 'Name', info.name || label],
    ['file', 'File', label],
    ['arch', 'Architecture', info.arch],
    ['file-type', 'File type', info.fileType ?? '—'],
    ['params', 'Parameters', formatParams(info.nParams)],
    ['context', 'Context', info.contextLength ? `${info.contextSize} of ${info.contextLength}` : String(info.contextSize)],
    ['backend', 'Runs on', info.backend === 'gpu' ? `GPU: ${info.gpu?.adapter} (${info.gpu?.api})` : info.gpuFallback ? 'CPU (no usable GPU)' : 'CPU'],
    ['threads', 'Threads', String(info.threads)],
    ['isolated', 'Cross-origin isolated', globalThis.crossOriginIsolated ? 'yes' : 'no'],
  ];
  for (const [key, term, value] of rows) {
    const row = document.createElement('div');
    row.dataset.key = key;
    if (key === 'name' || key === 'file') row.className = 'wide';
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dd.dataset.testid = `info-${key}`;
    row.append(dt, dd);
    list.append(row);
  }
  $('load-time').textContent = ms !== undefined ? `loaded in ${formatMs(ms)}` : '';
  card.hidden = false;
  $('chat-title').textContent = label;
  $('chat-subtitle').textContent = [info.arch, info.fileType, `${formatParams(info.nParams)} parameters`].filter(Boolean).join(' · ');
}

// ── the cache list ──────────────────────────────────────────────────────────────────────────

let cacheGeneration = 0;

async function refreshCache() {
  const list = $('cached-list');
  const mine = ++cacheGeneration;
  let entries;
  try {
    entries = await listCached();
  } catch (error) {
    if (mine !== cacheGeneration) return;
    list.replaceChildren(emptyItem(`The browser cache is unavailable here (${describeError(error).code}).`));
    return;
  }
  if (mine !== cacheGeneration) return;
  list.replaceChildren();
  if (entries.length === 0) {
    list.append(emptyItem('Nothing cached yet. Models loaded from a URL appear here.'));
  }
  for (const entry of entries) list.append(cachedItem(entry));
  renderControls();
}

function emptyItem(text) {
  const li = document.createElement('li');
  li.className = 'cached-empty hint';
  li.textContent = text;
  return li;
}

function cachedItem(entry) {
  const key = entry.sha256 ?? entry.name;
  const loaded = demo.model !== null && ((loadedCacheKey !== null && loadedCacheKey === key) || (loadedUrl !== null && entry.url === loadedUrl));
  const li = document.createElement('li');
  li.className = 'cached-item';
  li.dataset.testid = 'cached-item';
  li.dataset.name = entry.name;
  li.classList.toggle('loaded', loaded);

  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'cached-load';
  open.dataset.testid = 'cached-load';
  open.title = entry.url ? `Load (from ${entry.url})` : 'Load';
  const name = document.createElement('span');
  name.className = 'cached-name';
  name.textContent = entry.name;
  const meta = document.createElement('span');
  meta.className = 'cached-meta';
  meta.textContent = [formatBytes(entry.size), loaded ? 'loaded' : entry.inUse ? 'in use' : ''].filter(Boolean).join(' · ');
  open.append(name, meta);
  open.addEventListener('click', () => load(key, { label: entry.name, cacheKey: key }));

  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'icon-button cached-remove';
  remove.dataset.testid = 'cached-remove';
  remove.dataset.inUse = String(entry.inUse);
  remove.title = entry.inUse ? 'In use by a loaded model' : `Remove ${entry.name} from the cache`;
  remove.setAttribute('aria-label', `Remove ${entry.name}`);
  remove.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 7h16M10 11v6m4-6v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3"/></svg>';
  remove.addEventListener('click', async () => {
    remove.disabled = true;
    try {
      await removeCached(key);
      clearError();
    } catch (error) {
      showError(error);
    }
    refreshCache();
  });

  li.append(open, remove);
  return li;
}

// ── chatting ────────────────────────────────────────────────────────────────────────────────

function readNumber(input, fallback, { min, max, integer }) {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(v)) return fallback;
  const n = integer ? Math.round(v) : v;
  return Math.min(max, Math.max(min, n));
}

function resetStats() {
  for (const id of ['ttft', 'tps', 'token-count']) {
    $(id).textContent = '—';
    delete $(id).dataset.value;
  }
}

function renderStats({ ttft, tps, tokens }) {
  if (ttft !== undefined) {
    $('ttft').textContent = formatMs(ttft);
    $('ttft').dataset.value = ttft.toFixed(1);
  }
  if (tps !== undefined) {
    $('tps').textContent = formatRate(tps);
    $('tps').dataset.value = tps.toFixed(2);
  }
  $('token-count').textContent = String(tokens);
  $('token-count').dataset.value = String(tokens);
}

async function send(text) {
  const model = demo.model;
  if (!model || demo.busy || !text.trim()) return;
  clearError();
  const maxTokens = readNumber($('max-tokens'), 128, { min: 1, max: 8192, integer: true });
  const temperature = readNumber($('temperature'), 0, { min: 0, max: 2 });
  const system = $('system-prompt').value.trim();
  // The core's default seed is fixed (same seed, same tokens), so a sampled reply gets a fresh
  // one to vary between runs; it is shown under the reply to reproduce it.
  const seed = temperature > 0 ? crypto.getRandomValues(new Uint32Array(1))[0] : undefined;
  const seedNote = seed === undefined ? [] : [`seed ${seed}`];

  // "New chat" during the reply replaces `history`; this turn then lands in the old one.
  const conversation = history;
  const userBubble = chat.addUser(text);
  conversation.push({ role: 'user', content: text });
  const messages = system ? [{ role: 'system', content: system }, ...conversation] : [...conversation];
  const reply = chat.addAssistant();
  const controller = new AbortController();
  generateController = controller;
  setActivity('generating');
  resetStats();

  const started = performance.now();
  let first = null;
  let last = null;
  let tokens = 0;
  try {
    const options = { maxTokens, temperature, signal: controller.signal };
    if (seed !== undefined) options.seed = seed;
    const stream = model.chat(messages, options);
    for await (const chunk of stream) {
      if (chunk.token !== undefined) {
        const now = performance.now();
        tokens++;
        first ??= now;
        last = now;
        renderStats({
          ttft: first - started,
          tps: tokens > 1 ? ((tokens - 1) * 1000) / (last - first) : undefined,
          tokens,
        });
      }
      reply.append(chunk.text);
    }
    conversation.push({ role: 'assistant', content: reply.text });
    const limit = stream.finishReason === 'length' ? [`reached the ${maxTokens}-token limit`] : [];
    reply.finish({ note: [...limit, ...seedNote].join(' · ') });
  } catch (error) {
    if (isAbort(error)) {
      conversation.push({ role: 'assistant', content: reply.text });
      reply.finish({ note: ['stopped', ...seedNote].join(' · ') });
    } else {
      conversation.pop(); // the turn did not happen: leave it out of the next prompt
      userBubble.classList.add('failed');
      reply.finish({ failed: true, note: 'failed: not part of the conversation' });
      showError(error);
    }
  } finally {
    generateController = null;
    setActivity('idle');
  }
}

function submitPrompt() {
  const prompt = $('prompt');
  const text = prompt.value;
  if (!demo.model || demo.busy || !text.trim()) return;
  prompt.value = '';
  fitPrompt();
  send(text);
}

function fitPrompt() {
  const p = $('prompt');
  p.style.height = 'auto';
  p.style.height = `${Math.min(p.scrollHeight, 200)}px`;
}

// ── wiring ──────────────────────────────────────────────────────────────────────────────────

$('url-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const url = $('url-input').value.trim();
  if (!url) return $('url-input').focus();
  load(url, { label: baseName(url), url: absoluteUrl(url) });
});

$('file-input').addEventListener('change', () => {
  const file = $('file-input').files?.[0];
  $('file-input').value = ''; // picking the same file again must fire `change` again
  if (file) load(file, { label: file.name });
});

$('cancel-load').addEventListener('click', () => loadController?.abort());
$('cache-refresh').addEventListener('click', () => refreshCache());
$('error-dismiss').addEventListener('click', () => clearError());

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  submitPrompt();
});
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitPrompt();
  } else if (event.key === 'Escape') {
    generateController?.abort();
  }
});
$('prompt').addEventListener('input', fitPrompt);
$('stop').addEventListener('click', () => generateController?.abort());

$('new-chat').addEventListener('click', () => {
  generateController?.abort();
  history = [];
  chat.clear();
  resetStats();
  $('prompt').focus();
});

for (const chip of document.querySelectorAll('#suggestions .chip')) {
  chip.addEventListener('click', () => {
    $('prompt').value = chip.textContent;
    fitPrompt();
    if (demo.model) submitPrompt();
    else $('prompt').focus();
  });
}

function renderTemperatureHint() {
  const t = readNumber($('temperature'), 0, { min: 0, max: 2 });
  $('temperature-hint').textContent = t <= 0 ? 'greedy' : 'sampled';
  $('temperature-hint').title = t <= 0 ? 'The same prompt gives the same reply' : 'Replies vary between runs';
}
$('temperature').addEventListener('input', renderTemperatureHint);

$('system-toggle').addEventListener('click', () => {
  const row = $('system-row');
  row.hidden = !row.hidden;
  $('system-toggle').setAttribute('aria-expanded', String(!row.hidden));
  if (!row.hidden) $('system-prompt').focus();
});

// Drag and drop anywhere on the page (a file dropped outside a handler would navigate away).
let dragDepth = 0;
const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
window.addEventListener('dragenter', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth++;
  if (!demo.busy) $('drop-overlay').hidden = false;
});
window.addEventListener('dragover', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = demo.busy ? 'none' : 'copy';
});
window.addEventListener('dragleave', (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) $('drop-overlay').hidden = true;
});
window.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  $('drop-overlay').hidden = true;
  const file = event.dataTransfer.files[0];
  if (file && !demo.busy) load(file, { label: file.name });
});

// ── start ───────────────────────────────────────────────────────────────────────────────────

const isolated = globalThis.crossOriginIsolated === true;
const badge = $('isolation-badge');
badge.textContent = isolated ? 'cross-origin isolated' : 'not isolated';
badge.dataset.isolated = String(isolated);

const params = new URLSearchParams(location.search);
const initialUrl = params.get('model');
if (initialUrl) $('url-input').value = initialUrl;

renderStatus();
renderTemperatureHint();
refreshCache();
if (initialUrl && params.get('autoload') === '1') load(initialUrl, { label: baseName(initialUrl), url: absoluteUrl(initialUrl) });
