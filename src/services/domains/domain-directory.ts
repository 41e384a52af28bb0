import type { Domain, DomainRepository } from '../../store/ports.ts';

/**
 * The SIP domains this server hosts (multi-domain hosting): each with its realm, aliases (a
 * second name, or the server's own IP addresses) that reach the same subscribers. Lookups by
 * host are one map access; the table is rebuilt when the store changes.
 */
export class DomainDirectory {
  private byHost = new Map<string, Domain>();
  private domains: Domain[] = [];

  constructor(
    private readonly repository: DomainRepository,
    /** Domains from the config file / command line, served in addition to the stored ones. */
    private readonly configured: Domain[] = [],
    /** Names that mean "this server" (listen addresses): they reach the first domain. */
    private readonly localNames: string[] = [],
  ) {}

  async load(): Promise<void> {
    const stored = await this.repository.listDomains();
    const all = new Map<string, Domain>();
    for (const d of [...this.configured, ...stored]) {
      const name = d.name.toLowerCase();
      const previous = all.get(name);
      all.set(name, {
        name,
        realm: d.realm || name,
        aliases: [...new Set([...(previous?.aliases ?? []), ...d.aliases.map((a) => a.toLowerCase())])],
      });
    }
    const byHost = new Map<string, Domain>();
    const domains = [...all.values()];
    for (const d of domains) {
      byHost.set(d.name, d);
      for (const a of d.aliases) if (!byHost.has(a)) byHost.set(a, d);
    }
    if (domains.length > 0) for (const n of this.localNames) if (!byHost.has(n.toLowerCase())) byHost.set(n.toLowerCase(), domains[0]);
    this.byHost = byHost;
    this.domains = domains;
  }

  /** The hosted domain a host name or alias belongs to. */
  resolve(host: string): Domain | undefined {
    return this.byHost.get(host.toLowerCase());
  }

  isLocal(host: string): boolean {
    return this.byHost.has(host.toLowerCase());
  }

  list(): Domain[] {
    return this.domains;
  }
}
