#!/usr/bin/env node
/**
 * The relay benchmark (coturn vs `cloudproxy turn` under turnutils_uclient), kept at this path
 * for the docs: the `relay` section of bench/run.mjs, with the same options
 * (`node bench/turn-relay.mjs --quick --impl coturn,ours-js --case '100 B'`).
 * @module
 */
import { main } from './run.mjs';

process.exitCode = await main(['relay', ...process.argv.slice(2)]);
