#!/usr/bin/env bash
# `npm run build`: compile to dist/ (tsconfig.build.json) and copy the files the compiled code reads
# at run time: the console's static page and the descriptor set server reflection serves. dist/ is
# what `npm start`, the container image and the npm package run; nothing in it needs tsx.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rm -rf dist
npx --no-install tsc -p tsconfig.build.json
mkdir -p dist/generated dist/src/console
cp generated/descriptors.binpb dist/generated/descriptors.binpb
cp -R src/console/static dist/src/console/static
rm -f dist/src/console/static/tsconfig.json
date -u +%Y-%m-%dT%H:%M:%SZ > dist/.built
