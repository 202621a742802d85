#!/usr/bin/env bash
# Install the Debian packages the test suite runs for real, when they are missing:
#   postgresql         the database tests start their own server
#   graphviz           draws diagram.svg / diagram.png (matplotlib is the fallback)
#   chromium           the review page is loaded headless by the tests
#   fonts-dejavu-core  fonts for the diagrams
# Needs root and apt-get; otherwise it says what to install and leaves the decision to the tests.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
command -v dot >/dev/null || missing+=(graphviz)
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "drgen: installing ${missing[*]} (used by the tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "drgen: missing system packages: ${missing[*]}; install them (e.g. apt-get install ${missing[*]})" >&2
fi
