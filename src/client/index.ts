export * from './client.js';
export * from './errors.js';
export type { ClientTls, Security } from './transport.js';
