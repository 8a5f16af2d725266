#!/usr/bin/env bash
# Install Debian's PostgreSQL server for the real-scheduler test (Airflow's
# metadata database; tests/e2e/test_scheduler.py starts its own cluster in a
# temporary folder). Idempotent: does nothing when initdb is already there.
set -euo pipefail
for candidate in "${AUDIENCES_PG_BIN:-}" /usr/lib/postgresql/*/bin; do
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
    echo "postgresql: $candidate"
    exit 0
  fi
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "==> installing Debian's postgresql (apt-get)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends postgresql > /dev/null
echo "postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
