"""Apache Spark, the second engine (docs/scale-out.md): the session dbt builds on."""
