// Port of PyDBR's examples/dbr_create.py: create a namespace, query it, delete it.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const level = dbr.DBR_PERST_VOLATILE_SIMPLE;
const groupList = dbr.DBR_GROUP_LIST_EMPTY;

// Create a Data Broker namespace
const dbrHdl = dbr.create(dbrName, level, groupList);
if (dbrHdl === null) throw new Error(`could not create ${dbrName}`);
console.log('Created namespace ' + dbrName);

// Query the namespace to see if that was successful
const dbrState = new Uint32Array(1);
const res = dbr.query(dbrHdl, dbrState, dbr.DBR_STATE_MASK_ALL);
console.log('Query status: ' + dbr.getErrorMessage(res) + ', attached clients: ' + dbrState[0]);

dbr.detach(dbrHdl);
console.log('Delete Data Broker');
const status = dbr.delete(dbrName);
console.log('Exit Status: ' + dbr.getErrorMessage(status));
