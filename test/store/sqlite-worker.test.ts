// The Store contract on the SQLite engine, connection in a worker thread (the default mode).
import t from 'tap'
import { sqliteContract } from './sqlite-contract.ts'

sqliteContract(t, 'worker')
