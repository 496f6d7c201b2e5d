#!/usr/bin/env node
// nameserver-admin: the NameServer admin CLI (src/cli/). Runs the TypeScript sources through tsx.
'use strict';
require('tsx/cjs');
require('../src/cli/main.ts').main(process.argv);
