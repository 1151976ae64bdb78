// Builds the React window into dist/renderer with relative paths (loaded from file:// inside app.asar).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome140',
    sourcemap: false,
    // One small app: inline nothing (the CSP forbids inline scripts and styles).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
// Note: Vite picks development React when NODE_ENV is set to anything but "production" (vitest sets "test"):
// run the build with NODE_ENV unset or NODE_ENV=production.
