// How values read on the page: byte sizes, parameter counts, durations, rates, model sources.

/** `98.0 MB`, `1.24 GB` (decimal units, as file managers show them). */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 MB';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** `12.3 / 98.0 MB` while loading; `12.3 MB` when the total is unknown. */
export function formatProgressBytes(loaded, total) {
  const mb = (n) => (n / 1e6).toFixed(1);
  return total > 0 ? `${mb(loaded)} / ${mb(total)} MB` : `${mb(loaded)} MB`;
}

/** `135 M`, `1.24 B` parameters. */
export function formatParams(n) {
  if (!Number.isFinite(n) || n <= 0) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  return `${(n / 1e3).toFixed(0)} K`;
}

/** `240 ms`, `1.42 s`. */
export function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** `42.7 tok/s`. */
export function formatRate(tokensPerSecond) {
  return `${tokensPerSecond.toFixed(1)} tok/s`;
}

/** The last path segment of a URL (or the string itself), for naming a model before it loads. */
export function baseName(source) {
  try {
    const url = new URL(source, location.href);
    return decodeURIComponent(url.pathname.split('/').filter(Boolean).pop() ?? source);
  } catch {
    return source;
  }
}

/** `source` resolved against the page when it reads as a URL (else null: a cached name). */
export function absoluteUrl(source) {
  if (!/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^\.{0,2}\//.test(source)) return null;
  try {
    return new URL(source, location.href).href;
  } catch {
    return null;
  }
}
