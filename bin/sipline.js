#!/usr/bin/env node
// The `sipline` command: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(compiled)) {
  console.error('sipline: dist/ is missing; run `npm run build` (npm ci does it) first');
  process.exit(1);
}
await import(compiled);
