// Browser test harness (no tests here): a static HTTP server on 127.0.0.1 and a headless
// Debian chromium driven by playwright-core (shared/TOOLCHAIN.md, "Browser tests").
//
//   const server = await startServer({ root, headers, handler, importMap });
//   const browser = await launchChromium();
//   const page = await browser.newPage();
//   await page.goto(`${server.origin}/__harness/blank.html`);
//   ... page.evaluate(...) ...
//   await browser.close(); await server.close();
//
// 127.0.0.1 is a secure context, so OPFS, Web Locks, crypto.randomUUID and navigator.gpu exist.
// Set HARNESS_LOG=1 to print the pages' console output and errors.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gguf': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

/** The MIME type served for `file`. */
export const mimeType = (file) => MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites bare specifiers in JS module source per `importMap` (prefix → URL), as an import
 * map would: module workers ignore import maps, so the server resolves them for them.
 */
function rewriteImports(source, importMap) {
  let out = source;
  for (const [bare, target] of Object.entries(importMap)) {
    const re = new RegExp(`((?:\\bfrom|\\bimport)\\s*\\(?\\s*)(['"])${escapeRe(bare)}`, 'g');
    out = out.replace(re, (_, pre, q) => `${pre}${q}${target}`);
  }
  return out;
}

/**
 * Starts a static server on 127.0.0.1.
 * - `root`: files served from there (no listing, nothing outside it); `Cache-Control: no-store`.
 * - `headers`: extra headers on every response (e.g. COOP/COEP for SharedArrayBuffer:
 *   `{ 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }`).
 * - `handler(req, res)`: tried first; return true (or a promise of true) when it answered.
 * - `importMap`: `{ '@noble/hashes/': '/node_modules/@noble/hashes/' }`: served JS has these bare
 *   specifiers rewritten (so module workers resolve them too), and `/__harness/blank.html`
 *   carries the same `<script type="importmap">` for code run in the page.
 * Resolves `{ origin, url(path), close() }`.
 */
export async function startServer({ root, headers = {}, handler, importMap = {} } = {}) {
  const base = root ? path.resolve(root) : null;
  const blank = `<!doctype html><meta charset="utf-8"><title>harness</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>\n`;
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    try {
      if (handler && (await handler(req, res))) return;
      const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (pathname === '/__harness/blank.html') {
        res.writeHead(200, { 'content-type': MIME['.html'], 'cache-control': 'no-store' }).end(blank);
        return;
      }
      const file = base && path.join(base, pathname);
      if (!file || (file !== base && !file.startsWith(base + path.sep))) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const st = await fs.promises.stat(file).catch(() => null);
      if (!st?.isFile()) {
        res.writeHead(404, { 'content-type': MIME['.txt'] }).end(`not found: ${pathname}`);
        return;
      }
      const type = mimeType(file);
      let body = await fs.promises.readFile(file);
      if (type.startsWith('text/javascript') && Object.keys(importMap).length) {
        body = Buffer.from(rewriteImports(body.toString('utf8'), importMap));
      }
      res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': MIME['.txt'] });
      res.end(String(e?.stack ?? e));
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    url: (p) => `${origin}${p}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Launches headless chromium with a persistent profile: a fresh temp dir, or `userDataDir`
 * (pass a previous launch's, after `close({ keepProfile: true })`, to simulate a restart).
 * Resolves `{ context, userDataDir, newPage(), close({ keepProfile }) }`; close() deletes the
 * profile unless `keepProfile`.
 */
export async function launchChromium({ userDataDir, args = [], executablePath = CHROMIUM } = {}) {
  if (!fs.existsSync(executablePath)) {
    throw new Error(`${executablePath} not found: apt-get install -y chromium (never \`npx playwright install\`)`);
  }
  const dir = userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
  const log = process.env.HARNESS_LOG ? (...a) => console.error('[browser]', ...a) : null;
  const watch = (page) => {
    if (!log) return page;
    page.on('console', (m) => log(m.type(), m.text()));
    page.on('pageerror', (e) => log('pageerror', e.stack ?? e.message));
    page.on('worker', (w) => w.on('console', (m) => log('worker', m.type(), m.text())));
    return page;
  };
  for (const p of context.pages()) watch(p);
  return {
    context,
    userDataDir: dir,
    newPage: async () => watch(await context.newPage()),
    close: async ({ keepProfile = false } = {}) => {
      await context.close();
      if (!keepProfile) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
