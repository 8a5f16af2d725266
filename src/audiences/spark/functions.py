"""The dbt project's Python SQL functions, as Spark UDFs.

The same functions as DuckDB's (``audiences.warehouse_functions``), over the
same library calls (``audiences.identifiers``). They are registered on the
driver's session; the executors import ``audiences.identifiers``, so the
package must be installed where they run.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
from pyspark.sql.types import StringType

from audiences.identifiers import email_invalid_reason, to_e164

# Arrow moves the values to the Python workers in batches; the functions keep
# their per-process cache of the spellings already judged.
FUNCTIONS = {
    "normalize_phone": udf(to_e164, StringType(), useArrow=True),
    "email_invalid_reason": udf(email_invalid_reason, StringType(), useArrow=True),
}


def register(spark: SparkSession) -> None:
    for name, function in FUNCTIONS.items():
        spark.udf.register(name, function)
