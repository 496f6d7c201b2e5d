#!/usr/bin/env bash
# Generate the Python stubs of the NameServer contract from proto/ with Debian's protoc and
# grpc_python_plugin (packages protobuf-compiler, protobuf-compiler-grpc). Nothing generated is
# committed: run this before broker.py / client.py.
#
#   examples/python/gen.sh [OUT_DIR]     (default: examples/python/build)
#
# Output: OUT_DIR/nameserver/v1/{common,broker_registry,route_query,admin}_pb2.py and *_pb2_grpc.py.
# broker.py and client.py look for them in $NAMESERVER_PY_STUBS, else in examples/python/build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/build}"

for tool in protoc grpc_python_plugin; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "gen.sh: $tool not found (apt-get install -y protobuf-compiler protobuf-compiler-grpc)" >&2
    exit 1
  fi
done

mkdir -p "$out"
rm -rf "$out/nameserver"
protoc \
  -I "$root/proto" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  "$root"/proto/nameserver/v1/*.proto
# Regular packages (not namespace packages), so nothing else named "nameserver" on sys.path shadows them.
touch "$out/nameserver/__init__.py" "$out/nameserver/v1/__init__.py"
echo "gen.sh: Python stubs in $out/nameserver/v1" >&2
