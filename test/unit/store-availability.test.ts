import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isConnectionLoss, isStoreUnavailable, StoreUnavailableError } from '../../src/store/availability.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('unavailability: connection and resource failures of either engine, through causes and aggregates', () => {
  for (const err of [
    withCode('08006'), // connection_failure
    withCode('57P01'), // admin_shutdown
    withCode('57P03'), // cannot_connect_now (starting up)
    withCode('53300'), // too_many_connections
    withCode('53100'), // disk_full
    withCode('57014'), // statement timeout
    withCode('ECONNREFUSED'),
    withCode('ECONNRESET'),
    withCode('SQLITE_BUSY'),
    withCode('SQLITE_BUSY_SNAPSHOT'),
    withCode('SQLITE_IOERR_WRITE'),
    withCode('SQLITE_FULL'),
    withCode('SQLITE_READONLY_DBMOVED'),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Client was closed and is not queryable'),
    new StoreUnavailableError('The database did not answer within 100 ms'),
    new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')]),
    new Error('wrapped', { cause: withCode('57P01') }),
  ]) {
    assert.equal(isStoreUnavailable(err), true, `${(err as { code?: string }).code ?? err.message}`);
  }
});

test('not unavailability: errors of the request or of the code', () => {
  for (const err of [
    withCode('23505'), // unique_violation: handled by its caller
    withCode('40001'), // serialization_failure
    withCode('42P01'), // undefined_table
    withCode('SQLITE_CONSTRAINT_UNIQUE'),
    withCode('SQLITE_ERROR'),
    new Error('driver has already been destroyed'),
    new TypeError('x is undefined'),
    'a string',
    undefined,
    null,
  ]) {
    assert.equal(isStoreUnavailable(err), false, String(err));
  }
});

test('a lost connection, as opposed to a server that answered with an error, switches the pool to failing fast', () => {
  assert.equal(isConnectionLoss(withCode('57P01')), true);
  assert.equal(isConnectionLoss(withCode('ECONNREFUSED')), true);
  assert.equal(isConnectionLoss(new Error('Connection terminated unexpectedly')), true);
  assert.equal(isConnectionLoss(withCode('57014')), false, 'a statement timeout: the server answered');
  assert.equal(isConnectionLoss(withCode('53100')), false, 'a full disk: the server answered');
  assert.equal(isConnectionLoss(new Error('timeout exceeded when trying to connect')), false, 'a busy pool is not an outage');
});
