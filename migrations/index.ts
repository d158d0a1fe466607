import { Foundation1764000000000 } from './1764000000000-Foundation';

/** Every migration, in order; listed here so the app, the CLI and the tests load the same set. */
export const MIGRATIONS = [Foundation1764000000000];
