#!/usr/bin/env node
// nameserver: the NameServer itself (src/server/main.ts), compiled into dist/ by `npm run build`.
// `npx nameserver --help` lists every option.
'use strict';
void require('../dist/src/server/main.js').main();
