/**
 * The `sipline` command: `start` (the default) runs the server; `user`, `domain` and `location`
 * provision and inspect the store of the same data directory, also while the server runs.
 * Exit status: 0 done, 1 the command failed, 2 the command was used wrongly.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, LISTEN_FORMAT } from '../config/index.ts';
import { certCreate } from './cert-command.ts';
import { domainAdd, domainList } from './domain-commands.ts';
import { peerAdd, peerDel, peerList } from './peer-commands.ts';
import { CommandError, UsageError } from './errors.ts';
import { location } from './location-command.ts';
import { processOutput, type Output } from './output.ts';
import { PRESENCE_ACTIONS, presenceRule, presenceRuleDel, presenceRules } from './presence-commands.ts';
import { start } from './start-command.ts';
import { userAdd, userDel, userImport, userList, userPasswd } from './user-commands.ts';

function packageVersion(): string {
  // the same relative place from src/cli/ (tsx) and dist/cli/ (compiled)
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Returned by main when the server was started and keeps the process alive. */
export const KEEP_RUNNING = -1;

const collect = (value: string, previous: string[] = []) => [...previous, value];

function withStoreOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'the config file (YAML); default $SIPLINE_CONFIG')
    .option('-d, --data <dir>', 'the data directory (default from the config file, $SIPLINE_DATA or ./data)');
}

export function buildProgram(out: Output, onStarted: () => void): Command {
  const program = new Command('sipline')
    .description('A SIP server: registrar, proxy and routing scripts in TypeScript.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(sipline COMMAND --help shows the usage)')
    .version(packageVersion(), '-V, --version')
    .helpCommand(true)
    .addHelpText(
      'after',
      `
Every command takes --config FILE and --data DIR and works on the store of a running server
with the same data directory; provisioning takes effect without a restart.

Examples:
  sipline start --listen udp:0.0.0.0:5060 --listen tcp:0.0.0.0:5060 --domain example.com
  sipline user add alice@example.com --password s3cret
  sipline user import users.csv --domain example.com
  sipline location

Exit status: 0 done, 1 the command failed, 2 the command was used wrongly.`,
    );

  withStoreOptions(program.command('start', { isDefault: true }).description('start the server (the default command)'))
    .option('--listen <spec>', `a listener, repeatable: ${LISTEN_FORMAT}`, collect)
    .option('--domain <name>', 'a served domain, repeatable', collect)
    .option('--script <file>', 'the routing script (TypeScript or JavaScript)')
    .option('--workers <n>', 'worker processes: 0 (the default) one per core, 1 a single process')
    .addOption(new Option('--log-level <level>', 'trace, debug, info, warn, error, fatal or silent'))
    .addOption(new Option('--log-format <format>', 'json or pretty'))
    .action(async (options) => {
      await start(options, out);
      onStarted();
    });

  const user = program.command('user').description('provision users (subscribers)');
  withStoreOptions(user.command('add').argument('<user@domain>').description('add a user').option('-p, --password <password>', 'the password (only its digest hashes are stored)'))
    .action((address: string, options) => userAdd(address, options, out));
  withStoreOptions(user.command('passwd').argument('<user@domain>').description("change a user's password").option('-p, --password <password>', 'the new password'))
    .action((address: string, options) => userPasswd(address, options, out));
  withStoreOptions(user.command('del').argument('<user@domain>').description('delete a user')).action((address: string, options) => userDel(address, options, out));
  withStoreOptions(user.command('list').description('list the users').option('--domain <name>', 'only the users of this domain')).action((options) => userList(options, out));
  withStoreOptions(
    user
      .command('import')
      .argument('<file.csv>')
      .description('add or replace many users from a CSV file: lines user,password (with --domain) or user@domain,password')
      .option('--domain <name>', 'the domain of rows without one'),
  ).action((file: string, options) => userImport(file, options, out));

  const domain = program.command('domain').description('provision served domains');
  withStoreOptions(
    domain
      .command('add')
      .argument('<name>')
      .description('add (or update) a served domain')
      .option('--realm <realm>', 'the digest realm (default: the name)')
      .option('--alias <name>', 'another name of the domain, repeatable', collect),
  ).action((name: string, options) => domainAdd(name, options, out));
  withStoreOptions(domain.command('list').description('list the served domains')).action((options) => domainList(options, out));

  const peer = program.command('peer').description('provision trusted peers (trunks and gateways that need no digest authentication)');
  const peerMatch = (command: Command) =>
    command
      .option('--transport <name>', 'only requests over this transport: udp, tcp, tls, ws or wss (default: any)')
      .option('--port <port>', 'only requests from this source port (default: any)');
  withStoreOptions(
    peerMatch(peer.command('add').argument('<address>', 'an IP address or CIDR block (10.0.0.0/8, 2001:db8::/32)').description('add (or update) a trusted peer')).option(
      '--group <name>',
      'a group name for routing scripts (ctx.isTrusted(name))',
    ),
  ).action((address: string, options) => peerAdd(address, options, out));
  withStoreOptions(peerMatch(peer.command('del').argument('<address>').description('delete a stored trusted peer (with the --transport and --port it was added with)'))).action(
    (address: string, options) => peerDel(address, options, out),
  );
  withStoreOptions(peer.command('list').description('list the trusted peers (configured and stored)')).action((options) => peerList(options, out));

  const presence = program.command('presence').description('who may see a user\'s presence (watcher authorization rules)');
  const ruleHelp: Record<string, string> = {
    allow: 'let the watcher see the presence',
    block: 'refuse the watcher (403; an existing subscription is terminated)',
    'polite-block': 'accept the watcher but show the user offline',
    pending: 'hold the watcher pending (the user sees it in presence.winfo)',
  };
  for (const action of PRESENCE_ACTIONS) {
    withStoreOptions(
      presence
        .command(action)
        .argument('<presentity>', 'the user, user@domain')
        .argument('<watcher>', 'user@domain, a whole domain, or "*" for everyone')
        .description(ruleHelp[action]),
    ).action((presentity: string, watcher: string, options) => presenceRule(action, presentity, watcher, options, out));
  }
  withStoreOptions(presence.command('del').argument('<presentity>').argument('<watcher>').description('delete a rule (presence.default_policy applies again)')).action(
    (presentity: string, watcher: string, options) => presenceRuleDel(presentity, watcher, options, out),
  );
  withStoreOptions(presence.command('rules').argument('<presentity>', 'the user, user@domain').description("list a user's rules")).action((presentity: string, options) =>
    presenceRules(presentity, options, out),
  );

  withStoreOptions(program.command('location').argument('[aor]', 'only the bindings of this address-of-record (user@domain)').description('show the current registrations (bindings)'))
    .action((aor: string | undefined, options) => location(aor, options, out));

  program
    .command('cert')
    .description('TLS certificates for development')
    .command('create')
    .description('write a self-signed certificate and key (cert.pem, key.pem) for tls and wss listeners')
    .requiredOption('--out <dir>', 'the directory to write cert.pem and key.pem to')
    .option('--name <host>', 'a name or IP address the certificate is for, repeatable (default: localhost, 127.0.0.1, ::1)', collect)
    .option('--days <n>', 'how long it is valid (default 365)')
    .option('--force', 'replace existing files')
    .action((options) => certCreate(options, out));

  return program;
}

/** Runs the command line; resolves with the exit status, or KEEP_RUNNING when the server started. */
export async function main(argv: string[], out: Output = processOutput): Promise<number> {
  let started = false;
  const program = buildProgram(out, () => (started = true));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return started ? KEEP_RUNNING : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed its message (and the hint) already
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`sipline: ${p}\n`);
      return 2;
    }
    if (err instanceof UsageError || err instanceof CommandError) {
      process.stderr.write(`sipline: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`sipline: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
