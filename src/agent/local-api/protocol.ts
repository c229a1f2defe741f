import { ByteRange } from '../../common/byte-range';
import type { FencingToken } from '../../common/lock-shapes';

/**
 * The agent's local lock API: newline-delimited JSON over a Unix socket.
 * Locks belong to the connection that took them (like flock on a file
 * descriptor): they are released when it closes. Requests:
 *   {"id":1,"op":"acquire","resource":"r","mode":"EXCLUSIVE","range":{"start":0,"end":10},"wait":true,"timeoutMs":0}
 *   {"id":2,"op":"release","lockId":7}
 * Replies carry the same id: {"id":1,"ok":true,"lockId":7,"fencingToken":{"epoch":5,"counter":9}}
 * or {"id":1,"ok":false,"reason":"LOCK_CONFLICT","message":"…"}.
 * Pushes (no id): {"event":"lost","reason":"LEASE_DEADLINE_PASSED"} when the agent's session is lost.
 */
export interface LocalAcquireRequest {
  id: number;
  op: 'acquire';
  resource: string;
  mode: 'SHARED' | 'EXCLUSIVE';
  range?: ByteRange;
  wait?: boolean;
  timeoutMs?: number;
}

export interface LocalReleaseRequest {
  id: number;
  op: 'release';
  lockId: number;
}

export type LocalRequest = LocalAcquireRequest | LocalReleaseRequest;

export type LocalReply =
  | { id: number; ok: true; lockId?: number; fencingToken?: FencingToken; sessionId?: string }
  | { id: number; ok: false; reason: string; message: string };

export interface LocalEvent {
  event: 'lost' | 'queued';
  id?: number;
  reason?: string;
}

/** One line may not exceed this (a request is small; anything larger is garbage). */
export const MAX_LINE_BYTES = 8192;

export const DEFAULT_AGENT_SOCKET = '/run/coherd/agent.sock';
