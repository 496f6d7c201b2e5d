/**
 * Pure validators for every request of the API (the README's "Broker API" rules).
 *
 * Each `check*` returns nothing and throws one `InvalidArgument` for the first bad field it finds,
 * naming it the way a grpcurl user types it (`topics[3].name`, `data_version.epoch`). They throw
 * nothing else, even on garbage: every value is treated as `unknown` until its type is checked, a
 * missing nested message is "is required", and a missing scalar takes its proto3 default (so a
 * hand-built `{}` behaves like an empty message). Echoed input is truncated and escaped (`show`).
 */
export * from './fields';
export * from './broker-registry';
export * from './route-query';
export * from './admin';
