import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level?: string;
  /** Force JSON (true) or readable (false); default: JSON unless stderr is a TTY. */
  json?: boolean;
  /** Where records go; default stderr. */
  stream?: NodeJS.WritableStream;
}

const SECRET_KEYS = /password|secret|token_?key|credentials|authorization/i;

/** Keeps etcd credentials and the like out of every log record. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
  }
  return info;
});

/** One logger per process, made in main and passed down; components use child({ component }). */
export function createLogger(options: LoggerOptions = {}): Logger {
  const json = options.json ?? !process.stderr.isTTY;
  const level = options.level ?? process.env.COHERD_LOG_LEVEL ?? 'info';
  const format = json
    ? winston.format.combine(redact(), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json())
    : winston.format.combine(
        redact(),
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.errors({ stack: true }),
        winston.format.colorize(),
        winston.format.printf(({ timestamp, level: lvl, message, component, ...rest }) => {
          const meta = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
          return `${timestamp} ${lvl} ${component ? `[${component}] ` : ''}${message}${meta}`;
        }),
      );
  const stream = options.stream ?? process.stderr;
  return winston.createLogger({ level, format, transports: [new winston.transports.Stream({ stream })] });
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
