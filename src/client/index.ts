export * from './client.js';
export * from './codec.js';
