#!/usr/bin/env bash
# Build the Go example broker OFFLINE from Debian packages only:
#   golang-go                      the Go toolchain
#   protobuf-compiler              protoc
#   protoc-gen-go                  protoc plugin for messages (google.golang.org/protobuf, APIv2)
#   protoc-gen-go-grpc             protoc plugin for gRPC services
#   golang-google-grpc-dev         google.golang.org/grpc sources in /usr/share/gocode/src
#   golang-google-protobuf-dev     google.golang.org/protobuf sources in /usr/share/gocode/src
#
#   examples/go/build.sh [BUILD_DIR]     (default: examples/go/build)
#
# Output: BUILD_DIR/bin/broker. The generated code lives in BUILD_DIR/gopath/src/nsinterop/gen/... and
# is never committed. GOPATH mode (GO111MODULE=off) with GOPATH=BUILD_DIR/gopath:/usr/share/gocode and
# GOPROXY=off, GOFLAGS cleared: nothing is fetched from the network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/build}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
gocode="${DEB_GOCODE:-/usr/share/gocode}"

missing=()
for tool in go protoc protoc-gen-go protoc-gen-go-grpc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for dir in google.golang.org/grpc google.golang.org/protobuf; do
  [[ -d "$gocode/src/$dir" ]] || missing+=("$gocode/src/$dir")
done
if ((${#missing[@]} > 0)); then
  echo "build.sh: missing ${missing[*]} (run scripts/install-interop-deps.sh)" >&2
  exit 1
fi
# Debian's grpc (1.33) marshals through github.com/golang/protobuf. Its v1.3 package
# (golang-github-golang-protobuf-1-3-dev, what golang-google-grpc-dev pulls in by default) cannot encode
# the oneofs of code from today's protoc-gen-go (the broker panics in table_marshal.go on its first
# Send); v1.5 (golang-github-golang-protobuf-1-5-dev) delegates to google.golang.org/protobuf.
if [[ -f "$gocode/src/github.com/golang/protobuf/proto/table_marshal.go" ]]; then
  echo "build.sh: $gocode/src/github.com/golang/protobuf is v1.3, which cannot marshal protoc-gen-go APIv2 code;" \
    "apt-get install -y golang-github-golang-protobuf-1-5-dev (run scripts/install-interop-deps.sh)" >&2
  exit 1
fi

# The protos carry no go_package option (the contract stays language-neutral), so map each file to
# one Go package here.
pkg="nsinterop/gen/nameserver/v1"
mapping=""
for f in "$root"/proto/nameserver/v1/*.proto; do
  mapping+="${mapping:+,}Mnameserver/v1/$(basename "$f")=$pkg;nameserverv1"
done

src="$out/gopath/src"
rm -rf "$src/nsinterop"
mkdir -p "$src/$pkg" "$src/nsinterop/broker" "$out/bin"
protoc -I "$root/proto" \
  --go_out="$src" --go_opt="$mapping" \
  --go-grpc_out="$src" --go-grpc_opt="$mapping" \
  "$root"/proto/nameserver/v1/*.proto
cp "$here/broker/main.go" "$src/nsinterop/broker/main.go"

export GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$out/gopath:$gocode"
# A build cache is required; keep the user's, or one inside the build dir when there is no HOME.
if [[ -z "${GOCACHE:-}" && -z "${HOME:-}" && -z "${XDG_CACHE_HOME:-}" ]]; then
  export GOCACHE="$out/gocache"
fi
(cd "$src/nsinterop/broker" && go build -o "$out/bin/broker" .)
echo "build.sh: built $out/bin/broker ($(go version | awk '{print $3}'))" >&2
