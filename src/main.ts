import { KEEP_RUNNING, main } from './cli/main.ts';

const code = await main(process.argv.slice(2));
if (code !== KEEP_RUNNING) process.exit(code);
