#!/usr/bin/env node
// nameserver-admin: the NameServer admin CLI (src/cli/), compiled into dist/ by `npm run build`
// (the npm package ships dist/; `npm pack` builds it first).
'use strict';
require('../dist/src/cli/main.js').main(process.argv);
