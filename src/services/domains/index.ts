export { DomainDirectory } from './domain-directory.ts';
