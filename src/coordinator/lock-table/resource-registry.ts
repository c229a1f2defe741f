import type { HoldPolicy } from './hold-policy';
import { ResourceState } from './resource-state';
import { LockSpace } from './types';

/**
 * Where resource states live: one map per space, keyed by the opaque
 * resource string. A state exists only while it has a grant or a waiter;
 * callers drop it when an operation leaves it empty.
 */
export class ResourceRegistry {
  private readonly spaces: Record<LockSpace, Map<string, ResourceState>> = {
    data: new Map(), attr: new Map(), dir: new Map(), range: new Map(),
  };

  constructor(private readonly hold: HoldPolicy, private readonly nowMs: () => number) {}

  /** The state of (space, resource), created empty if needed: drop it with dropIfEmpty when done. */
  get(space: LockSpace, resource: string): ResourceState {
    const map = this.spaces[space];
    let state = map.get(resource);
    if (state === undefined) {
      state = new ResourceState(resource, space);
      this.hold.attach(state);
      map.set(resource, state);
    }
    return state;
  }

  /** The state of (space, resource) if it exists; never creates one. */
  peek(space: LockSpace, resource: string): ResourceState | undefined {
    return this.spaces[space].get(resource);
  }

  dropIfEmpty(state: ResourceState): void {
    if (!state.isEmpty()) return;
    const map = this.spaces[state.space];
    if (map.get(state.resource) !== state) return;
    map.delete(state.resource);
    this.hold.detach(state, this.nowMs());
  }

  count(): number {
    let n = 0;
    for (const m of Object.values(this.spaces)) n += m.size;
    return n;
  }

  maps(): Map<string, ResourceState>[] {
    return Object.values(this.spaces);
  }
}
