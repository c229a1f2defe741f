import type * as grpc from '@grpc/grpc-js';
import type { ServerOptions as Http2ServerOptions } from 'node:http2';
import type { Logger } from '../common/logger';

/**
 * HTTP/2 receive window the coordinator advertises per stream (issue 15).
 * grpc-js reads, splits and deserializes everything a window lets in
 * within one event-loop turn, before coherd's own pacing sees it, and a
 * request of another client read in the same turn waits for all of it.
 * With the default 64 KiB a client flooding one stream with small
 * requests (about 1,400 acquires per window) held the loop for 11–19 ms;
 * 16 KiB still let 110–200 acquires (~80 bytes each with gRPC and HTTP/2
 * framing) in per read, 1–2 ms of decoding ahead of everyone else. 4 KiB
 * lets in about 50 (docs/lock-table.md, P10). A lock request is ~50
 * bytes; a larger message takes more window updates (a 64 KiB one about
 * 16), which costs a client of a flooded coordinator little.
 */
export const STREAM_RECEIVE_WINDOW_BYTES = 4 * 1024;

/**
 * grpc-js has no server option for HTTP/2 settings, but passes the
 * options object it keeps to http2.createServer when it binds: add the
 * window there. If a grpc-js release drops that field, the coordinator
 * works as before (64 KiB) and says so once.
 */
export function limitReceiveWindow(server: grpc.Server, logger: Logger, bytes = STREAM_RECEIVE_WINDOW_BYTES): boolean {
  const internals = server as unknown as { commonServerOptions?: Http2ServerOptions };
  const options = internals.commonServerOptions;
  if (options === undefined || typeof options !== 'object') {
    logger.warn('cannot limit the HTTP/2 receive window: grpc-js keeps no server options; using its default', { wantedBytes: bytes });
    return false;
  }
  options.settings = { ...(options.settings ?? {}), initialWindowSize: bytes };
  return true;
}
