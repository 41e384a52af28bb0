export { resolveUri, resolveNumericUri } from './resolver.ts';
