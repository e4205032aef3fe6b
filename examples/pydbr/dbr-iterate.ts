// Port of PyDBR's examples/dbr_iterate.py: walk the tuple names with the iterator, getting each.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const dbrHdl = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);

const state = new Uint32Array(1);
dbr.query(dbrHdl, state, dbr.DBR_STATE_MASK_ALL);

// put a set of keys
for (let i = 0; i < 10; i++) {
  const key = 'simple_key_' + i;
  console.log('Putting key: ' + key);
  dbr.put(dbrHdl, 'test-value-' + i, key, dbr.DBR_GROUP_EMPTY);
}

const got: string[] = [];
let [key, iterator] = dbr.iterator(dbrHdl, dbr.DBR_ITERATOR_NEW, '', dbr.DBR_GROUP_EMPTY);
while (iterator !== dbr.DBR_ITERATOR_DONE) {
  const [value] = await dbr.get(dbrHdl, key as string, '', dbr.DBR_GROUP_EMPTY, dbr.DBR_FLAGS_NONE);
  got.push('On key ' + key + ' Get returned: ' + value.toString());
  [key, iterator] = dbr.iterator(dbrHdl, iterator, '', dbr.DBR_GROUP_EMPTY);
}
for (const line of got.sort()) console.log(line);

dbr.detach(dbrHdl);
console.log('Delete Data Broker');
console.log('Exit Status: ' + dbr.getErrorMessage(dbr.delete(dbrName)));
