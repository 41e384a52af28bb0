export { LocationService, type LocationOptions } from './location-service.ts';
export { bindingKey, type Binding } from './binding.ts';
