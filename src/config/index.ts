export { configSchema, EXAMPLE_CONFIG, hostProblem, type SiplineConfig } from './schema.ts';
export { loadConfig, overridable, ConfigError, CONFIG_ENV, type LoadOptions, type LoadedConfig, type Overrides } from './load.ts';
export { parseListenSpec, readListenSpec, formatListenSpec, DEFAULT_LISTEN, LISTEN_FORMAT } from './listen-spec.ts';
export { renderConfigDocs } from './docs.ts';
export type { Field, FieldDoc, Issue, Path } from './fields.ts';
