#!/usr/bin/env node
/**
 * The signaling-proxy benchmark (wrk through `cloudproxy proxy` vs nginx), kept at this path
 * for the docs: the `proxy` section of bench/run.mjs (`node bench/signaling-proxy.mjs --quick`).
 * @module
 */
import { main } from './run.mjs';

process.exitCode = await main(['proxy', ...process.argv.slice(2)]);
