/** Structured JSON logs on stdout (pino). Level from NAMESERVER_LOG_LEVEL (default "info"). */
import pino from 'pino';

export const log = pino({
  level: process.env.NAMESERVER_LOG_LEVEL ?? 'info',
  base: { service: 'nameserver', pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
});
