// Port of PyDBR's examples/dbr_numpy.py: numeric arrays travel as their raw bytes.
// numpy arrays become typed arrays; a 3-D shape is carried next to the data, as numpy carries its own.
import { dbr } from '@tsdbr/core';

const dbrName = 'DBRtestname';
const dbrHdl = dbr.create(dbrName, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
const group = dbr.DBR_GROUP_EMPTY;

function equal(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
}

console.log('- Put float array in DBR');
const input = new Float64Array([1, 2, 3.0, 1, 1, 1, 4, 5, 6, 7, 8, 9]); // shape (2, 2, 3)
dbr.put(dbrHdl, input, 'testNumpy', group);
let [bytes, ret] = await dbr.get(dbrHdl, 'testNumpy', '', group, dbr.DBR_FLAGS_NONE, [256]);
let output = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
console.log('Get returned status: ' + dbr.getErrorMessage(ret));
console.log('Check input and output array are the same: ' + equal(input, output));

console.log('\n- Put integer multidimensional array in DBR');
const ints = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 3); // shape (2, 2, 3)
dbr.put(dbrHdl, ints, 'testNumpy', group);
[bytes, ret] = await dbr.get(dbrHdl, 'testNumpy', '', group, dbr.DBR_FLAGS_NONE, [256]);
const intsOut = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
console.log('Get returned status: ' + dbr.getErrorMessage(ret));
console.log('Check input and output array are the same: ' + equal(ints, intsOut));

console.log('\n- Put an array too large for the buffer: the value stays');
const large = new Float64Array(100).fill(Math.PI);
dbr.put(dbrHdl, large, 'testNumpy', group);
[, ret] = await dbr.get(dbrHdl, 'testNumpy', '', group, dbr.DBR_FLAGS_NONE, [256]);
console.log('Get with a 256-byte buffer returned status: ' + dbr.getErrorMessage(ret));
[bytes, ret] = await dbr.get(dbrHdl, 'testNumpy', '', group, dbr.DBR_FLAGS_NONE, [800]);
output = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
console.log('Get with an 800-byte buffer: ' + dbr.getErrorMessage(ret) + ', same: ' + equal(large, output));

dbr.detach(dbrHdl);
console.log('\nDelete Data Broker');
console.log('Exit Status: ' + dbr.getErrorMessage(dbr.delete(dbrName)));
