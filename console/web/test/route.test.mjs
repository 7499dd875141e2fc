// node --test console/web/test/: hash route parsing and building.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {parseHash, pageHash, dealHash} from '../src/route.js';

test('parse', () => {
  assert.deepEqual(parseHash('#/forecast?node=org_1&fy=2026&fq=4'),
    {page: 'forecast', node: 'org_1', fy: 2026, fq: 4, oppId: ''});
  assert.equal(parseHash('#/deals/opp/opp_9').oppId, 'opp_9');
  assert.equal(parseHash('#/deals/opp/opp_9').page, 'deal');
  assert.equal(parseHash('#/sign-in').page, 'sign-in');
  assert.equal(parseHash('').page, '');
  assert.equal(parseHash('#/nope').page, '');
  assert.equal(parseHash('#/forecast?fq=7').fq, 0);
});

test('build round-trips', () => {
  const ctx = {node: 'org_1', fy: 2026, fq: 4};
  assert.equal(pageHash('forecast', ctx), '#/forecast?node=org_1&fy=2026&fq=4');
  assert.equal(pageHash('deals', ctx), '#/deals?node=org_1');
  assert.equal(parseHash(pageHash('progress', ctx)).fq, 4);
  assert.equal(parseHash(dealHash('opp_1')).oppId, 'opp_1');
});
