// Port of PyDBR's examples/dbr_putget.py: put a tuple, read it, get it.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const dbrHdl = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
const group = dbr.DBR_GROUP_EMPTY;

const testIn = 'Hello World!';
let res = dbr.put(dbrHdl, testIn, 'testTup', group);
console.log('Put tuple: ' + testIn + ' - status: ' + dbr.getErrorMessage(res));

let [value, ret] = await dbr.read(dbrHdl, 'testTup', '', group, dbr.DBR_FLAGS_NONE);
console.log('Read returned: ' + value.toString() + ' - status: ' + dbr.getErrorMessage(ret));

[value, ret] = await dbr.get(dbrHdl, 'testTup', '', group, dbr.DBR_FLAGS_NONE);
console.log('Get returned: ' + value.toString() + ' - status: ' + dbr.getErrorMessage(ret));

[value, ret] = await dbr.get(dbrHdl, 'testTup', '', group, dbr.DBR_FLAGS_NOWAIT);
console.log('Get on an empty tuple returned status: ' + dbr.getErrorMessage(ret));

dbr.detach(dbrHdl);
res = dbr.delete(dbrName);
console.log('Exit Status: ' + dbr.getErrorMessage(res));
