// Layer rules from DESIGN.md §1: an arrow means "may import"; anything else is forbidden.
//   shared ← sip ← transport ← transaction ← ua/dialog ← proxy ← routing
// and a layer is entered only through its index.ts.
const layer = (name, allowed) => ({
  name: `layer-${name}`,
  comment: `src/${name} may import only: ${allowed.join(', ') || '(nothing in src)'}`,
  severity: 'error',
  from: { path: `^src/${name}/` },
  to: {
    path: '^src/([^/]+)/',
    pathNot: [`^src/${name}/`, ...allowed.map((a) => `^src/${a}/`)],
  },
});

module.exports = {
  forbidden: [
    layer('shared', []),
    layer('sip', ['shared']),
    layer('transport', ['shared', 'sip']),
    layer('transaction', ['shared', 'sip', 'transport']),
    layer('dns', ['shared', 'sip', 'transport']),
    layer('ua', ['shared', 'sip', 'transport', 'transaction', 'dns']),
    layer('proxy', ['shared', 'sip', 'transport', 'transaction', 'dns']),
    // cluster: worker mode; it shares datagrams and connections of the transport between processes
    layer('cluster', ['shared', 'sip', 'transport']),
    layer('routing', ['shared', 'sip', 'transport', 'transaction', 'proxy', 'services', 'store']),
    // config: schema and loading; it knows the shapes of listeners and digest algorithms, nothing more
    layer('config', ['shared', 'transport', 'services/auth']),
    {
      name: 'config-imports-types-only',
      comment: 'src/config uses src/transport and src/services/auth for types only',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(transport|services/auth)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'services-are-siblings',
      comment: 'a feature under src/services never imports another feature (DESIGN.md §1)',
      severity: 'error',
      from: { path: '^src/services/([^/]+)/' },
      to: { path: '^src/services/([^/]+)/', pathNot: '^src/services/$1/' },
    },
    {
      name: 'services-layers',
      comment: 'services may import shared, sip, transport types, dns and the store ports only',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^src/([^/]+)/', pathNot: ['^src/services/', '^src/(shared|sip|transport|dns)/', '^src/store/ports\\.ts$'] },
    },
    {
      name: 'store-adapters-only-from-composition',
      comment: 'concrete store adapters are picked in app.ts (and the CLI), nowhere else',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/app\\.ts$', '^src/cli/', '^src/store/'] },
      to: { path: '^src/store/(index\\.ts|memory|sqlite)' },
    },
    {
      name: 'enter-layers-through-index',
      comment: 'another layer is imported through its index.ts only',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/.+', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$', '^src/services/[^/]+/index\\.ts$', '^src/store/ports\\.ts$', '^src/routing/default-script\\.ts$'] },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles at run time (type-only references between a flow and its socket are fine)',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'src-not-from-test',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
