#!/usr/bin/env bash
# Build dist/ when it is missing or older than any file it is built from (npm start, npm run admin,
# npm run broker run this first, so they always run what the sources say, compiled).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ -f dist/.built ]] && [[ -z "$(find src generated deploy/healthcheck.ts package.json tsconfig.json tsconfig.build.json scripts/build.sh -newer dist/.built -type f -print -quit)" ]]; then
  exit 0
fi
echo "building dist/ (npm run build)..." >&2
bash scripts/build.sh >&2
