import { defineConfig } from 'vite';

// No framework plugin: Vite 8 compiles TSX with its built-in Oxc transform (automatic JSX runtime).
// The app is served by otpgate under /admin, so every asset URL is built under that base.
export default defineConfig({
  base: '/admin/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    // `npm run dev` against a local otpgate (npm run dev at the repo root).
    proxy: { '/v1': 'http://127.0.0.1:8080', '/cis': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' },
  },
});
