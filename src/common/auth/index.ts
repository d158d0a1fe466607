export * from './auth.decorators';
export * from './scope';
export * from './bearer';
