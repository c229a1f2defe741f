import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentClientName, parseAgentClientName } from '../../src/agent/journal/journal-advert';

describe('an agent advertising its journal in its session name', () => {
  it('round-trips host, namespace and a journal path with colons, spaces and semicolons', () => {
    const advert = { host: 'web-1.example', namespace: 'prod', journal: '/srv/journals/a b;c:d' };
    const { name, fits } = agentClientName(advert);
    assert.equal(fits, true);
    assert.equal(name, 'agent:web-1.example:prod;journal=/srv/journals/a b;c:d');
    assert.deepEqual(parseAgentClientName(name), advert);
  });

  it('reads the name of an agent that advertises no journal (older agents, --journal-advertise "")', () => {
    assert.deepEqual(parseAgentClientName('agent:h1:ns'), { host: 'h1', namespace: 'ns' });
    assert.equal(agentClientName({ host: 'h1', namespace: 'ns' }).name, 'agent:h1:ns');
  });

  it('leaves the journal out, and says so, when the name would pass the 256-byte wire limit', () => {
    const r = agentClientName({ host: 'h', namespace: 'ns', journal: `/${'x'.repeat(300)}` });
    assert.deepEqual(r, { name: 'agent:h:ns', fits: false });
  });

  it('ignores sessions that are not agents\' and malformed agent names', () => {
    for (const name of ['coherd-lock:123', 'coherd-client', 'agent:', 'agent:hostonly', 'agent:h:', 'agent::ns;journal=/x', '']) {
      assert.equal(parseAgentClientName(name), undefined, name);
    }
  });
});
