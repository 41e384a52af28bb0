import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { RoutingScript } from './script.ts';

/**
 * Loads a routing script from a TypeScript or JavaScript file. The file is bundled with esbuild
 * (type imports vanish, relative imports are inlined, packages stay external) into a fresh
 * module, so that loading it again after an edit gives the new code.
 */
export async function loadScript(file: string): Promise<RoutingScript> {
  const path = resolve(file);
  const result = await build({
    entryPoints: [path],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    packages: 'external',
    logLevel: 'silent',
  });
  const dir = mkdtempSync(join(tmpdir(), 'sipline-script-'));
  const out = join(dir, 'script.mjs');
  writeFileSync(out, result.outputFiles[0].text);
  try {
    const mod = (await import(pathToFileURL(out).href)) as { default?: RoutingScript; onRequest?: RoutingScript['onRequest'] };
    const script = mod.default ?? (mod.onRequest ? (mod as RoutingScript) : undefined);
    if (script === undefined || typeof script.onRequest !== 'function') {
      throw new Error(`${file}: a routing script must export default an object with onRequest(ctx)`);
    }
    return script;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
