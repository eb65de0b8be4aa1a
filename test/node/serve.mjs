// A local HTTP server for the download tests (no tests here): serves in-memory files on
// 127.0.0.1 with Range support, counts requests, and can cut or stall a response after N bytes.
import http from 'node:http';
import { createHash } from 'node:crypto';

export const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/**
 * Starts a server. `files`: path → Buffer. Per-path behaviour is set with `server.plan(path, {...})`:
 * `cutAfter` (destroy the socket after this many body bytes, for the next `times` responses),
 * `stallAfter` (stop sending after this many bytes until `server.release()`), `headers` (extra).
 */
export async function serve(files) {
  const plans = new Map();
  const log = [];
  const stalled = new Set();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = files[url.pathname];
    log.push({ path: url.pathname, range: req.headers.range ?? null, method: req.method });
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const etag = `"${sha256(body).slice(0, 16)}"`;
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    const headers = { 'accept-ranges': 'bytes', etag, 'content-type': 'application/octet-stream' };
    const range = req.headers.range && /^bytes=(\d+)-(\d*)$/.exec(req.headers.range);
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
    }
    const plan = plans.get(url.pathname) ?? {};
    Object.assign(headers, plan.headers);
    headers['content-length'] = end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const slice = body.subarray(start, end + 1);
    if (plan.cutAfter !== undefined && (plan.times ?? 1) > 0) {
      plan.times = (plan.times ?? 1) - 1;
      // A FIN, not a reset: the client receives every byte written before the cut (a reset
      // would drop what it had not read yet, so the cut point would depend on timing).
      res.write(slice.subarray(0, plan.cutAfter), () => res.socket?.end());
      return;
    }
    if (plan.stallAfter !== undefined && (plan.times ?? 1) > 0) {
      plan.times = (plan.times ?? 1) - 1;
      res.write(slice.subarray(0, plan.stallAfter));
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      return;
    }
    res.end(slice);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    url: (p) => `${base}${p}`,
    log,
    /** Requests for `p` that carried a body (GET). */
    gets: (p) => log.filter((r) => r.path === p && r.method === 'GET'),
    plan: (p, plan) => plans.set(p, plan),
    release: () => {
      for (const r of stalled) r.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const r of stalled) r.destroy();
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}
