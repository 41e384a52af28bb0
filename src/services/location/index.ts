export { LocationService, type LocationOptions, type BindingChange } from './location-service.ts';
export { bindingKey, type Binding } from './binding.ts';
