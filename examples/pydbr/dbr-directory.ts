// Port of PyDBR's examples/dbr_directory.py: list tuple names, then read and get them.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const dbrHdl = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
const group = dbr.DBR_GROUP_EMPTY;

dbr.put(dbrHdl, 'Hello World!', 'HelloTuple', group);
dbr.put(dbrHdl, 'Goodbye World!', 'GoodbyeTuple', group);

// test the directory command and list all tuple names/keys
const size = 1024;
const count = 1000;
const [keys] = dbr.directory(dbrHdl, '*', group, count, size);
keys.sort();
console.log('Keys on DBR: ' + JSON.stringify(keys));

for (const key of keys) {
  let [value, ret] = await dbr.read(dbrHdl, key, '', group, dbr.DBR_FLAGS_NOWAIT);
  console.log('Read returned: ' + value.toString() + ' - status: ' + dbr.getErrorMessage(ret));
  [value, ret] = await dbr.get(dbrHdl, key, '', group, dbr.DBR_FLAGS_NONE);
  console.log('Get returned: ' + value.toString() + ' - status: ' + dbr.getErrorMessage(ret));
}

dbr.detach(dbrHdl);
console.log('Delete Data Broker');
console.log('Exit Status: ' + dbr.getErrorMessage(dbr.delete(dbrName)));
