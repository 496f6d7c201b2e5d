/** The client SDK: `import { NameServerClient } from 'mq-nameserver/client'`. */
export { NameServerClient } from './name-server-client';
export type { NameServerClientOptions, RouteChange, RouteListener, Watch, ClientStats } from './name-server-client';
export { resolveAddresses } from '../shared/resolve';
export type { Route, BrokerRoute, Replica } from '../../generated/nameserver/v1/route_query';
