/**
 * The one module that owns etcd key names (DESIGN §6). Everything lives
 * under a configurable prefix, default "/coherd/".
 */
export class EtcdKeys {
  readonly prefix: string;

  constructor(prefix = '/coherd/') {
    this.prefix = prefix.endsWith('/') ? prefix : prefix + '/';
  }

  get leader(): string {
    return this.prefix + 'leader';
  }

  get epoch(): string {
    return this.prefix + 'epoch';
  }

  get sessionsPrefix(): string {
    return this.prefix + 'sessions/';
  }

  session(id: string): string {
    return this.sessionsPrefix + id;
  }

  sessionIdOf(key: string): string | undefined {
    return key.startsWith(this.sessionsPrefix) ? key.slice(this.sessionsPrefix.length) : undefined;
  }

  /** Tombstones of evicted sessions, each on a lease that runs out when the evicted holder's own deadline has passed. */
  get evictedPrefix(): string {
    return this.prefix + 'evicted/';
  }

  evicted(id: string): string {
    return this.evictedPrefix + id;
  }

  get config(): string {
    return this.prefix + 'config';
  }

  shard(name: string): string {
    return this.prefix + 'shards/' + name;
  }
}
