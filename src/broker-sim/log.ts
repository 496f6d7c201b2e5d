/**
 * Structured JSON logs of the simulated broker on stdout (pino), `service: 'broker'` so they can be
 * told from the NameServer's in a shared terminal. Level from BROKER_LOG_LEVEL, else
 * NAMESERVER_LOG_LEVEL (tests set one for both), else "info".
 */
import pino from 'pino';

export const log = pino({
  level: process.env.BROKER_LOG_LEVEL ?? process.env.NAMESERVER_LOG_LEVEL ?? 'info',
  base: { service: 'broker', pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});
