# Source this file to point Airflow at the project: its own metadata DB under
# $AUDIENCES_HOME/airflow, the project's dags/ folder, no example DAGs.
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AUDIENCES_HOME="${AUDIENCES_HOME:-$_root/data}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$AUDIENCES_HOME/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$_root/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
unset _root
