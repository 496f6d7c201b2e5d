#!/usr/bin/env bash
# Install the Debian packages the polyglot interop test needs (test/integration/interop.test.ts,
# examples/python, examples/go). Idempotent: when every package is already installed it changes
# nothing and does not even run `apt-get update`. Needs root (CI runs as root).
#
#   bash scripts/install-interop-deps.sh
#
# Debian 12 (bookworm) package names:
#   python3 python3-grpcio python3-protobuf    the Python example broker and client
#   protobuf-compiler protobuf-compiler-grpc   protoc and grpc_python_plugin (Python stubs)
#   golang-go                                  the Go toolchain (1.19)
#   protoc-gen-go protoc-gen-go-grpc           protoc plugins for Go messages and services
#   golang-google-grpc-dev                     google.golang.org/grpc sources (/usr/share/gocode)
#   golang-google-protobuf-dev                 google.golang.org/protobuf sources
#   golang-github-golang-protobuf-1-5-dev      github.com/golang/protobuf v1.5 for grpc's codec.
#       golang-google-grpc-dev depends on "golang-github-golang-protobuf-1-3-dev | ...-1-5-dev" and
#       apt picks v1.3 by default (that is also what the transitional golang-goprotobuf-dev installs);
#       v1.3 cannot marshal the oneofs of code from protoc-gen-go 1.28 (the Go broker panics on its
#       first Send), so v1.5 is named explicitly and replaces v1.3 if present.
set -euo pipefail

PACKAGES=(
  python3
  python3-grpcio
  python3-protobuf
  protobuf-compiler
  protobuf-compiler-grpc
  golang-go
  protoc-gen-go
  protoc-gen-go-grpc
  golang-google-grpc-dev
  golang-google-protobuf-dev
  golang-github-golang-protobuf-1-5-dev
)

# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"
mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

if ((${#missing[@]} == 0)); then
  echo "install-interop-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-interop-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The whole list, so apt resolves grpc's "v1.3 | v1.5" dependency with v1.5 in one transaction.
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi

# What the test will use.
echo "  $(protoc --version), grpc_python_plugin: $(command -v grpc_python_plugin)"
echo "  $(go version)"
echo "  python3-grpcio $(/usr/bin/python3 -c 'import grpc; print(grpc.__version__)'), protobuf $(/usr/bin/python3 -c 'import google.protobuf as p; print(p.__version__)')"
echo "  protoc-gen-go $(dpkg-query -W -f='${Version}' protoc-gen-go), protoc-gen-go-grpc $(dpkg-query -W -f='${Version}' protoc-gen-go-grpc), golang-google-grpc-dev $(dpkg-query -W -f='${Version}' golang-google-grpc-dev)"
