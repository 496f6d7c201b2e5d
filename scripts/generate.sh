#!/usr/bin/env bash
# `npm run generate`: everything under generated/ from proto/, with local plugins only.
#   generated/nameserver/**, generated/grpc/**   ts-proto stubs (buf generate, buf.gen.yaml)
#   generated/descriptors.binpb                  the FileDescriptorSet buf compiles from proto/, with
#                                                source info (comments): what reflection serves, and
#                                                what `grpcurl -protoset` can read offline
# then `buf lint`. CI regenerates from scratch and fails when the result differs from what is
# committed (.ci/run, step "generated/ is fresh").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rm -rf generated
npx --no-install buf generate
npx --no-install buf build --as-file-descriptor-set -o generated/descriptors.binpb
npx --no-install buf lint
