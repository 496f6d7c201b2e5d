#!/usr/bin/env bash
# Install the headless browser the web console's end-to-end test drives (test/e2e/console.test.ts):
# Debian's `chromium`, at /usr/bin/chromium, driven by the npm package playwright-core (which never
# downloads a browser of its own). Idempotent: when chromium is already installed it changes nothing
# and does not even run `apt-get update`. Needs root (CI runs as root).
#
#   bash scripts/install-browser.sh
#
# Debian 12 (bookworm) packages:
#   chromium          the browser (pulls its libraries; fonts-liberation is a recommendation)
#   fonts-liberation  a font, so screenshots of the page render text
set -euo pipefail

PACKAGES=(chromium fonts-liberation)

# shellcheck source=lib/debian.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/debian.sh"
mapfile -t missing < <(missing_packages "${PACKAGES[@]}")

if ((${#missing[@]} == 0)); then
  echo "install-browser: ${PACKAGES[*]} already installed"
else
  echo "install-browser: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x /usr/bin/chromium ]]; then
  echo "install-browser: /usr/bin/chromium is missing after the install" >&2
  exit 1
fi
# What the test will use (chromium prints its version without a display).
echo "  $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium (version unknown)')"
