/**
 * What `sipline start` tells the other commands through the data directory: the domains it was
 * configured with (config file and --domain flags) and their realms. `sipline user add` run later
 * with only --data must compute HA1 over the same realm the server challenges with.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Domain } from '../store/index.ts';

export const SERVER_STATE_FILE = 'server.json';

export interface ServerState {
  pid: number;
  startedAt: string;
  listen: string[];
  /** The configured domains of the last server started on this data directory. */
  domains: Domain[];
}

export function writeServerState(dataDir: string, state: ServerState): void {
  const file = join(dataDir, SERVER_STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** The state written by the last `sipline start` on this data directory, or null. */
export function readServerState(dataDir: string): ServerState | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, SERVER_STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const state = JSON.parse(text) as ServerState;
    return Array.isArray(state.domains) ? state : null;
  } catch {
    return null;
  }
}
