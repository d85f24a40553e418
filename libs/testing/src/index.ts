export { startNatsServer, uniqueName } from './nats-server';
export type { NatsServerFixture, NatsServerOptions } from './nats-server';
