// Server settings only: the app and the wasm-chord package bundle with Vite's defaults.
// - WASM_CHORD_ISOLATED=1 serves the page cross-origin isolated (COOP + COEP), which is what
//   lets the wasm build use SharedArrayBuffer and threads.
// - server.fs.allow: here `wasm-chord` is a link to the repo root (file:../..), outside this
//   app's folder, and the dev server only serves files from inside it (JS modules pass, but the
//   package's .wasm would be refused). An app with the package in its own node_modules needs
//   none of this.
import { fileURLToPath } from 'node:url';
import { defineConfig, searchForWorkspaceRoot } from 'vite';

const isolated = process.env.WASM_CHORD_ISOLATED === '1';
const headers = isolated
  ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
  : {};
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  server: {
    headers,
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), repoRoot] },
  },
  preview: { headers },
});
