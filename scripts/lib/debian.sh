# Sourced by the install scripts: which Debian packages of a list are not installed yet.
# Usage: mapfile -t missing < <(missing_packages pkg1 pkg2 ...)

missing_packages() {
  local p
  for p in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]]; then
      echo "$p"
    fi
  done
}
