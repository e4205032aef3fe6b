// Port of PyDBR's examples/dbr_attach.py: create a namespace, attach a second handle, detach both.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const created = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
console.log('Create: ' + (created === null ? 'failed' : 'ok'));

const attached = dbr.attach(dbrName);
console.log('Attach: ' + (attached === null ? 'failed' : 'ok'));

const state = new Uint32Array(1);
dbr.query(attached, state, dbr.DBR_STATE_MASK_ALL);
console.log('Attached clients: ' + state[0]);

console.log('Detach: ' + dbr.getErrorMessage(dbr.detach(attached)));
console.log('Detach: ' + dbr.getErrorMessage(dbr.detach(created)));
console.log('Delete: ' + dbr.getErrorMessage(dbr.delete(dbrName)));
