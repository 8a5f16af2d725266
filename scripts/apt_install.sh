#!/usr/bin/env bash
# Install Debian packages with apt-get (through sudo unless root): the one way
# the project's install scripts add what pip cannot (Chromium, PostgreSQL,
# Java). Says what it installs before it does; without root or sudo it stops
# and names the targets that need none of it.
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo > /dev/null; then
    echo "==> Debian's $* is missing, and installing it needs root (apt-get install $*)." >&2
    echo "    Without it, 'make unit' and 'make dbt' run the tests that need no system package." >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "==> installing Debian's $* with ${sudo:+sudo }apt-get (missing on this machine)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" > /dev/null
