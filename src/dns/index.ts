export { resolveUri, resolveNumericUri, uriProtocol } from './resolver.ts';
