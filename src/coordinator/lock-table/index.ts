/** Public surface of the lock table; everything else in this folder is internal. */
export { LockTable } from './lock-table';
export type { LockTableOptions } from './options';
export * from './types';
