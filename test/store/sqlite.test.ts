// The Store contract on the SQLite engine, connection on the main thread (in-thread mode).
import t from 'tap'
import { sqliteContract } from './sqlite-contract.ts'

sqliteContract(t, 'in-thread')
