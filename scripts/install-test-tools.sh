#!/usr/bin/env bash
# Install every third-party tool the test suite runs against, each from its own registry, pinned.
# `npm test` runs this first (the `pretest` script), so `npm ci && npm test` on a fresh machine runs
# every test; `.ci/run` runs it before `npm run generate` (which needs the Go plugins) and then calls
# exactly `npm test`. Idempotent and fast when all is present (it only checks versions and hashes of
# the pin files).
#
#   bash scripts/install-test-tools.sh
#
# What goes where (all inside the repository, ignored by git, except Debian packages and Go's module
# and build caches):
#   .tools/bin/grpcurl              grpcurl from the Go module proxy     (README replay, describe tests)
#   .tools/bin/kustomize            kustomize from the Go module proxy   (deploy/ rendering test)
#   .tools/bin/protoc-gen-go        Go plugins for `npm run generate`    (Go stubs of the contract)
#   .tools/bin/protoc-gen-go-grpc
#   .tools/venv/                    Python virtualenv, PyPI packages pinned in test/interop/requirements.txt
#                                   and sdk/python/requirements-dev.txt; the Python SDK installed editable
#   Go modules of every go.mod      `go mod download` into Go's module cache and a build into Go's
#                                   build cache (sdk/go, examples/go: the interop test builds the
#                                   Go broker offline, GOPROXY=off)
#   /usr/bin/chromium               Debian's chromium (console end-to-end tests; needs root for apt)
#   .tools/rocketmq/lib/            RocketMQ broker, client and mqadmin jars from Maven Central, pinned in
#                                   test/rocketmq/pom.xml (the remoting door's tests against the real thing);
#                                   Java 17 and Maven from Debian (apt, as root) when missing
#
# A tool that cannot be installed stops this script with the command that failed; the tests that
# need it then fail too (they never skip).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

# Pinned versions of the Go-installed tools (module@version).
GRPCURL=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.3
KUSTOMIZE=sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
PROTOC_GEN_GO=google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC=google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "install-test-tools: $1 is not installed; $2" >&2
    exit 1
  fi
}

# A stamp file holds what was installed; an install runs again when the wanted value changes.
stamp_is() { [[ -f "$tools/$1.stamp" && "$(cat "$tools/$1.stamp")" == "$2" ]]; }
stamp_set() { printf '%s' "$2" >"$tools/$1.stamp"; }

# go install MODULE@VERSION into .tools/bin, unless the stamp says that version is there.
go_tool() {
  local name="$1" spec="$2"
  if [[ -x "$bin/$name" ]] && stamp_is "$name" "$spec"; then
    return
  fi
  need go "install Go (https://go.dev/dl) or use a machine that has it"
  echo "install-test-tools: go install $spec"
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" go install "$spec"
  stamp_set "$name" "$spec"
}

go_tool grpcurl "$GRPCURL"
go_tool kustomize "$KUSTOMIZE"
go_tool protoc-gen-go "$PROTOC_GEN_GO"
go_tool protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC"

# Python: one virtualenv with the pinned requirements (the polyglot tests' grpcio, grpcio-tools,
# protobuf; the Python SDK's pytest, mypy and stub plugins), then the Python SDK itself, editable
# (sdk/python: its sources are used in place, so editing them needs no reinstall). The build backend
# is pinned in the requirements and used without build isolation, so nothing is fetched for it.
requirements="$root/test/interop/requirements.txt"
sdk_requirements="$root/sdk/python/requirements-dev.txt"
if [[ -f "$requirements" ]]; then
  # The editable install records the absolute path of sdk/python: a moved clone installs again.
  want="$({ echo "$root"; cat "$requirements" "$sdk_requirements"; } | sha256sum | cut -c1-64)"
  if [[ ! -x "$tools/venv/bin/python" ]] || ! stamp_is venv "$want"; then
    need python3 "install Python 3.11+ with venv"
    echo "install-test-tools: python3 -m venv .tools/venv && pip install -r test/interop/requirements.txt -r sdk/python/requirements-dev.txt && pip install -e sdk/python"
    rm -rf "$tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" -r "$sdk_requirements"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$root/sdk/python"
    stamp_set venv "$want"
  fi
fi

# Go modules: download what each go.mod pins (go.sum checks it), so tests build offline; then compile
# them once, so the test's `go build` of the example broker finds grpc-go in the build cache (cold, it
# takes about 40 s on two cores).
while IFS= read -r mod; do
  dir="$(dirname "$mod")"
  key="gomod-$(echo "${dir#"$root"/}" | tr '/' '_')"
  want="$(cat "$mod" "$dir/go.sum" 2>/dev/null | sha256sum | cut -c1-64)"
  if ! stamp_is "$key" "$want"; then
    need go "install Go (https://go.dev/dl) or use a machine that has it"
    echo "install-test-tools: go mod download && go build -o /dev/null ./... in ${dir#"$root"/}"
    (cd "$dir" && go mod download all && go build -o /dev/null ./...)
    stamp_set "$key" "$want"
  fi
done < <(find "$root/sdk" "$root/examples" -name go.mod -not -path '*/node_modules/*' 2>/dev/null | sort)

# RocketMQ's jars (broker, Java client, mqadmin) for the remoting door's tests, with Java 17 and Maven.
rocketmq_pom="$root/test/rocketmq/pom.xml"
want="$(sha256sum "$rocketmq_pom" | cut -c1-64)"
if [[ ! -d "$tools/rocketmq/lib" ]] || ! stamp_is rocketmq "$want"; then
  if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
    echo "install-test-tools: apt-get install openjdk-17-jdk-headless maven"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven >/dev/null
  fi
  echo "install-test-tools: mvn dependency:copy-dependencies (test/rocketmq/pom.xml) into .tools/rocketmq/lib"
  rm -rf "$tools/rocketmq/lib"
  mvn -q -B -f "$rocketmq_pom" dependency:copy-dependencies -DoutputDirectory="$tools/rocketmq/lib"
  stamp_set rocketmq "$want"
fi

# Debian's chromium for the console's browser tests.
bash "$root/scripts/install-browser.sh" >/dev/null

echo "install-test-tools: rocketmq $(ls "$tools/rocketmq/lib" | sed -n 's/^rocketmq-broker-\(.*\)\.jar$/\1/p'), grpcurl ${GRPCURL##*@}, kustomize $("$bin/kustomize" version), $(/usr/bin/chromium --version 2>/dev/null | head -1)${requirements:+, $("$tools/venv/bin/python" -c 'import grpc, google.protobuf as p; print(f"grpcio {grpc.__version__}, protobuf {p.__version__}")' 2>/dev/null || echo 'no venv')}"
