import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Bindings, type ChildLoggerOptions, type LevelWithSilentOrString, type LogFn } from 'pino';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A request's id: a sane incoming X-Request-Id (so a request can be followed across services), else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * One log line per request, written when it completes; every line carries the request id.
 *
 * The line of a request that succeeded is composed here and handed to the logger's destination:
 * through pino (`logger.info({reqId, …})`) it cost ~8 % of the CPU of a cached GET under load
 * (W2 profile: pino serialises the object key by key). The line is the JSON pino writes for the
 * same call (test/unit/request-log.test.ts compares them). Loggers that are not plain pino
 * (no destination to write to) get the pino call.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const ms = Math.round(reply.elapsedTime);
    if (error) {
      request.log.error({ method: request.method, url: request.url, statusCode: reply.statusCode, ms, err: error }, 'request failed');
      return;
    }
    writeAccessLine(request.server.log, request.id, request.method, request.url, reply.statusCode, ms);
  }
}

const INFO = 30;

export function writeAccessLine(log: FastifyBaseLogger, reqId: string, method: string, url: string, statusCode: number, ms: number): void {
  let out = destinations.get(log);
  if (out === undefined) {
    out = plainDestination(log);
    destinations.set(log, out);
  }
  if (out === null) {
    log.info({ reqId, method, url, statusCode, ms }, 'request');
    return;
  }
  if ((log as pino.Logger).levelVal > INFO) return;
  out.stream.write(
    `{"level":${INFO},"time":${Date.now()}${out.chindings},"reqId":${quoted(reqId)},"method":${quoted(method)},` +
      `"url":${quoted(url)},"statusCode":${statusCode},"ms":${ms},"msg":"request"}\n`,
  );
}

/** Printable ASCII but `"` and `\`: JSON.stringify would leave it as it is. */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** The JSON string of `s`. JSON.stringify calls into the runtime: ~2 % of a cached GET's CPU for three short strings. */
function quoted(s: string): string {
  return VERBATIM.test(s) ? `"${s}"` : JSON.stringify(s);
}

interface Destination {
  stream: { write(line: string): unknown };
  chindings: string;
}
const destinations = new WeakMap<FastifyBaseLogger, Destination | null>();

/** The destination of a pino logger that writes lines as they are (no mixin, hooks or custom time). */
function plainDestination(log: FastifyBaseLogger): Destination | null {
  const logger = log as unknown as Record<symbol, unknown> & { levelVal?: unknown };
  const { streamSym, chindingsSym, timeSym, mixinSym, hooksSym, needsMetadataGsym, messageKeySym } = pino.symbols;
  const stream = logger[streamSym] as (Destination['stream'] & Record<symbol, unknown>) | undefined;
  const chindings = logger[chindingsSym];
  const plain =
    stream !== undefined &&
    typeof stream.write === 'function' &&
    stream[needsMetadataGsym] !== true &&
    typeof chindings === 'string' &&
    typeof logger.levelVal === 'number' &&
    logger[timeSym] === pino.stdTimeFunctions.epochTime &&
    logger[mixinSym] === undefined &&
    logger[messageKeySym] === 'msg' &&
    (logger[hooksSym] as { streamWrite?: unknown } | undefined)?.streamWrite === undefined;
  return plain ? { stream, chindings } : null;
}

/**
 * Fastify makes a pino child (bindings serialised at once) for every request, ~2 % of the CPU of
 * a cached GET (W2 profile), though most requests never log through it. This one is made on the
 * first call; Fastify's own logging and ours only ever use the logger's methods and level.
 */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyChild(logger, bindings, opts);
}

type LogArgs = Parameters<LogFn>;

class LazyChild implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;
  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}
  private get real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.opts);
    return this.made;
  }
  get level(): LevelWithSilentOrString {
    return this.made?.level ?? this.opts.level ?? this.parent.level;
  }
  set level(level: LevelWithSilentOrString) {
    this.real.level = level;
  }
  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real.child(bindings, opts);
  }
  fatal(...args: LogArgs): void {
    this.real.fatal(...args);
  }
  error(...args: LogArgs): void {
    this.real.error(...args);
  }
  warn(...args: LogArgs): void {
    this.real.warn(...args);
  }
  info(...args: LogArgs): void {
    this.real.info(...args);
  }
  debug(...args: LogArgs): void {
    this.real.debug(...args);
  }
  trace(...args: LogArgs): void {
    this.real.trace(...args);
  }
  silent(): void {}
}
