// Proto <-> domain conversion, shared by src/server and src/client.
export * from './codec.js';
export * from './status-details.js';
export * from './request-decode.js';
export * from './event-decode.js';
export * from './event-encode.js';
