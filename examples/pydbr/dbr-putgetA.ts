// Port of PyDBR's examples/dbr_putgetA.py: asynchronous put and get, polled with test().
import { setTimeout as sleep } from 'node:timers/promises';
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const dbrHdl = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
const group = dbr.DBR_GROUP_EMPTY;

const testIn = 'Hello World!';
const putTag = dbr.putA(dbrHdl, testIn, 'testTup', group);
console.log('Async Put tuple: ' + testIn + ', calling Async Get');

const [tag, value] = dbr.getA(dbrHdl, 'testTup', '', group);
let state = dbr.test(tag);
if (tag !== dbr.DB_TAG_ERROR) {
  while (state === dbr.DBR_ERR_INPROGRESS) {
    console.log('Waiting...');
    await sleep(10);
    state = dbr.test(tag);
  }
} else {
  console.log('Async Get test returned ' + dbr.getErrorMessage(state));
}
dbr.test(putTag);
// the future holds a value only once test() returned DBR_SUCCESS (value throws otherwise, naming the status)
if (state === dbr.DBR_SUCCESS) console.log('Async get tuple return value: ' + dbr.decodeTuple(value));

console.log('Check if blocking Read fails on timeout..');
const [, res] = await dbr.read(dbrHdl, 'testTup', '', group, dbr.DBR_FLAGS_NONE);
console.log('status: ' + dbr.getErrorMessage(res));

dbr.detach(dbrHdl);
console.log('Delete Data Broker');
console.log('Exit Status: ' + dbr.getErrorMessage(dbr.delete(dbrName)));
