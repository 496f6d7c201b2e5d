#!/usr/bin/env bash
# `npm run generate`: everything generated from proto/, with local plugins only.
#   generated/nameserver/**, generated/grpc/**   ts-proto stubs (buf generate, buf.gen.yaml)
#   generated/descriptors.binpb                  the FileDescriptorSet buf compiles from proto/, with
#                                                source info (comments): what reflection serves, and
#                                                what `grpcurl -protoset` can read offline
#   sdk/go/nameserverv1/                         Go stubs of proto/nameserver (buf.gen.go.yaml:
#                                                protoc-gen-go and protoc-gen-go-grpc from .tools/bin)
# then `buf lint`. CI regenerates from scratch and fails when the result differs from what is
# committed (.ci/run, step "generated/ is fresh").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Go plugins are pinned Go modules that scripts/install-test-tools.sh puts in .tools/bin (a
# protoc-gen-go of another version would write other code, and CI's freshness check would fail).
for plugin in protoc-gen-go protoc-gen-go-grpc; do
  if [[ ! -x ".tools/bin/$plugin" ]]; then
    echo "generate.sh: .tools/bin/$plugin is missing; install the pinned Go plugins with: bash scripts/install-test-tools.sh" >&2
    exit 1
  fi
done

rm -rf generated sdk/go/nameserverv1
npx --no-install buf generate
npx --no-install buf build --as-file-descriptor-set -o generated/descriptors.binpb
# Only our contract: the vendored proto/grpc/** files already have Go code in google.golang.org/grpc.
npx --no-install buf generate --template buf.gen.go.yaml --path proto/nameserver
npx --no-install buf lint
