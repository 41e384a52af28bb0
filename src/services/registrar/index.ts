export { Registrar, DEFAULT_REGISTRAR_POLICY, type RegistrarPolicy, type RegisterOutcome, type BindingTable } from './registrar.ts';
