#!/usr/bin/env bash
# Install Debian's Java runtime for the Spark tests (pyspark 4 needs Java 17
# or later). Idempotent: does nothing when a java of 17 or later is on PATH
# or at JAVA_HOME. `make demo` needs none: DuckDB is the default engine.
set -euo pipefail
for java in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
  if [ -n "$java" ] && [ -x "$java" ]; then
    major=$("$java" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p')
    if [ "${major:-0}" -ge 17 ]; then
      echo "java: $java ($major)"
      exit 0
    fi
  fi
done
"$(dirname "$0")/apt_install.sh" default-jre-headless
echo "java: $(command -v java)"
