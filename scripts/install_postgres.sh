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
"$(dirname "$0")/apt_install.sh" postgresql
echo "postgresql: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
