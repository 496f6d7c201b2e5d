#!/usr/bin/env bash
# `npm run generate`: everything generated from proto/, with local plugins only.
#   generated/nameserver/**, generated/grpc/**   ts-proto stubs (buf generate, buf.gen.yaml)
#   generated/descriptors.binpb                  the FileDescriptorSet buf compiles from proto/, with
#                                                source info (comments): what reflection serves, and
#                                                what `grpcurl -protoset` can read offline
#   sdk/go/nameserverv1/                         Go stubs of proto/nameserver (buf.gen.go.yaml:
#                                                protoc-gen-go and protoc-gen-go-grpc from .tools/bin)
#   sdk/python/src/mq_nameserver/v1/             Python stubs of proto/nameserver (grpc_tools.protoc from
#                                                .tools/venv: *_pb2.py, *_pb2_grpc.py, and their typed
#                                                .pyi from mypy-protobuf), imports rewritten to the package
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

python=.tools/venv/bin/python
if ! "$python" -c 'import grpc_tools.protoc, mypy_protobuf' >/dev/null 2>&1; then
  echo "generate.sh: .tools/venv lacks grpcio-tools or mypy-protobuf; install the pinned Python packages with: bash scripts/install-test-tools.sh" >&2
  exit 1
fi

py_out=sdk/python/src/mq_nameserver/v1
rm -rf generated sdk/go/nameserverv1 "$py_out"
npx --no-install buf generate
npx --no-install buf build --as-file-descriptor-set -o generated/descriptors.binpb
# Only our contract: the vendored proto/grpc/** files already have Go code in google.golang.org/grpc.
npx --no-install buf generate --template buf.gen.go.yaml --path proto/nameserver
# Python: protoc writes `from nameserver.v1 import x_pb2` (the .proto paths); inside the package
# that is `from mq_nameserver.v1 import x_pb2`. The descriptors keep their names (nameserver/v1/*.proto).
py_tmp="$(mktemp -d)"
trap 'rm -rf "$py_tmp"' EXIT
PATH="$PWD/.tools/venv/bin:$PATH" "$python" -m grpc_tools.protoc -I proto \
  --python_out="$py_tmp" --grpc_python_out="$py_tmp" --mypy_out=quiet:"$py_tmp" --mypy_grpc_out=quiet:"$py_tmp" \
  proto/nameserver/v1/*.proto
mkdir -p "$py_out"
for f in "$py_tmp"/nameserver/v1/*.py "$py_tmp"/nameserver/v1/*.pyi; do
  sed -e 's/^from nameserver\.v1 import /from mq_nameserver.v1 import /' "$f" >"$py_out/$(basename "$f")"
done
if grep -rn '^\(from\|import\) nameserver' "$py_out"; then
  echo "generate.sh: an import of the nameserver package was left unrewritten in $py_out" >&2
  exit 1
fi
printf '"""Generated from proto/nameserver/v1 by scripts/generate.sh (npm run generate); do not edit."""\n' >"$py_out/__init__.py"

npx --no-install buf lint
