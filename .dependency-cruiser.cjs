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
    layer('ua', ['shared', 'sip', 'transport', 'transaction']),
    {
      name: 'enter-layers-through-index',
      comment: 'another layer is imported through its index.ts only',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/([^/]+)/.+', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
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
