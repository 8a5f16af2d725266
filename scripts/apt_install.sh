#!/usr/bin/env bash
# Install Debian packages with apt-get (through sudo unless root): the one way
# the project's install scripts add what pip cannot (Chromium, PostgreSQL).
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "==> installing Debian's $* (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" > /dev/null
