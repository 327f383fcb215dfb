#!/usr/bin/env node
// Entry point of the `cloudproxy` command: runs the built CLI package.
import '../packages/cli/dist/main.js';
