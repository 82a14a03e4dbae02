"""brim.spark.score on PySpark in local mode: equal to score_many on the same rows."""

import os
import sys

import pandas as pd
import pyarrow as pa
import pytest

import brim
import brim.spark
from conftest import generated_leads

# Under CI a missing PySpark fails (the test environment installs it); elsewhere it skips.
pyspark = __import__("pyspark") if os.environ.get("CI") else pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("brim-test")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def spark_frame(spark, leads):
    rows = []
    for i, lead in enumerate(leads):
        contact = lead.get("contact") or {}
        rows.append({
            "row_id": i,
            "company_name": lead["company_name"],
            "employee_count": lead.get("employee_count"),
            "industry": lead.get("industry"),
            "funding_stage": lead.get("funding_stage"),
            "tech_stack": lead.get("tech_stack") or [],
            "recent_job_posts": lead.get("recent_job_posts") or [],
            "news_mentions": "; ".join(lead.get("news_mentions") or []),
            "contact_email": contact.get("email"),
            "timezone": lead.get("timezone"),
        })
    schema = ("row_id long, company_name string, employee_count long, industry string, funding_stage string, "
              "tech_stack array<string>, recent_job_posts array<string>, news_mentions string, "
              "contact_email string, timezone string")
    return spark.createDataFrame(rows, schema=schema).repartition(3), pd.DataFrame(rows)


@pytest.mark.parametrize("model", ["balanced", "intent"])
def test_spark_equals_score_many(spark, model):
    leads = generated_leads(1_000, seed=11)
    sdf, pdf = spark_frame(spark, leads)
    scored = brim.spark.score(sdf, model).toPandas().sort_values("row_id").reset_index(drop=True)
    local = brim.score_many(pdf, model)
    assert len(scored) == 1_000
    for col in ["company_id", "fit_score", "intent_score", "total_score", "confidence"]:
        assert scored[col].tolist() == local[col].tolist(), col
    assert scored["action"].tolist() == local["action"].astype(str).tolist()
    assert [list(x) for x in scored["reasons_positive"]] == [list(x) for x in local["reasons_positive"]]
    assert list(scored.columns) == [f.name for f in sdf.schema.fields] + list(brim.SCORE_COLUMNS)


def test_spark_skip_and_raise(spark):
    leads = generated_leads(200, seed=12)
    leads[17]["employee_count"] = -4
    sdf, pdf = spark_frame(spark, leads)
    kept = brim.spark.score(sdf, brim.Model.preset("balanced"), detail="summary", errors="skip").toPandas()
    assert len(kept) == 199 and 17 not in set(kept["row_id"])
    local = brim.score_many(pdf, detail="summary", errors="skip")
    assert sorted(kept["total_score"].tolist()) == sorted(local["total_score"].tolist())
    with pytest.raises(Exception, match="employee_count: expected a whole number >= 0, got -4"):
        brim.spark.score(sdf).collect()
    with pytest.raises(ValueError, match="on Spark"):
        brim.spark.score(sdf, errors="collect")
