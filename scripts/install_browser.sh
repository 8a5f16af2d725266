#!/usr/bin/env bash
# Install Debian's Chromium for the run-report browser test (tests/report).
# Idempotent: does nothing when a Chromium is already on the machine.
set -euo pipefail
for candidate in "${AUDIENCES_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "chromium: $candidate"
    exit 0
  fi
done
"$(dirname "$0")/apt_install.sh" chromium
echo "chromium: $(command -v chromium)"
