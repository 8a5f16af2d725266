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
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "==> installing Debian's chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium > /dev/null
echo "chromium: $(command -v chromium)"
