export * from './auth.decorators';
export * from './scope';
