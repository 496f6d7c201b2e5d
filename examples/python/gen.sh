#!/usr/bin/env bash
# Generate the Python stubs of the NameServer contract from proto/ with grpcio-tools (its bundled
# protoc and gRPC plugin: `python -m grpc_tools.protoc`), from the project's virtualenv .tools/venv
# (PyPI packages pinned in test/interop/requirements.txt; `bash scripts/install-test-tools.sh` makes
# it). Nothing generated is committed: run this before broker.py / client.py.
#
#   examples/python/gen.sh [OUT_DIR]     (default: examples/python/build)
#
# Output: OUT_DIR/nameserver/v1/{common,broker_registry,route_query,admin}_pb2.py and *_pb2_grpc.py.
# broker.py and client.py look for them in $NAMESERVER_PY_STUBS, else in examples/python/build.
# $PYTHON picks another interpreter that has grpcio-tools.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/build}"
python="${PYTHON:-$root/.tools/venv/bin/python}"

if ! "$python" -c 'import grpc_tools.protoc' >/dev/null 2>&1; then
  echo "gen.sh: $python cannot import grpc_tools (grpcio-tools); run: bash scripts/install-test-tools.sh" >&2
  exit 1
fi

mkdir -p "$out"
rm -rf "$out/nameserver"
"$python" -m grpc_tools.protoc \
  -I "$root/proto" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  "$root"/proto/nameserver/v1/*.proto
# Regular packages (not namespace packages), so nothing else named "nameserver" on sys.path shadows them.
touch "$out/nameserver/__init__.py" "$out/nameserver/v1/__init__.py"
echo "gen.sh: Python stubs in $out/nameserver/v1" >&2
