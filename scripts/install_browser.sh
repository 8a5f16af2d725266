#!/usr/bin/env bash
# Install Debian's Chromium and its chromedriver (the same version) for the
# run-report browser test (tests/e2e/test_nightly_dag.py drives it with Selenium).
# Idempotent: does nothing when both are already on the machine.
set -euo pipefail
chromium=""
for candidate in "${AUDIENCES_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    chromium="$candidate"
    break
  fi
done
if [ -n "$chromium" ] && command -v chromedriver > /dev/null; then
  echo "chromium: $chromium, $(command -v chromedriver)"
  exit 0
fi
"$(dirname "$0")/apt_install.sh" chromium chromium-driver
echo "chromium: $(command -v chromium), $(command -v chromedriver)"
