"""Write the simulated systems to disk in their native formats.

Strings are assembled by DuckDB (vectorised, multi-threaded) rather than in
Python loops; the web writer slices each hour's lines straight out of the
Arrow buffer and gzips them on two threads.
"""

from __future__ import annotations

import gzip
import sqlite3
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from audiences.generate.people import DAY

ISO = "%Y-%m-%dT%H:%M:%SZ"


def _day_name(epoch_day: int) -> str:
    return datetime.fromtimestamp(epoch_day * DAY, UTC).strftime("%Y%m%d")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def write_daily_csv(
    table: pa.Table,
    select_sql: str,
    out_dir: Path,
    prefix: str,
    days: range,
    bad_rows: Iterable[tuple[int, str]] = (),
) -> int:
    """Write one CSV per epoch day in ``days`` (header only on a quiet day).

    ``bad_rows`` are (epoch day, line) pairs spliced into that day's file at a
    position derived from the line, the way a broken export row shows up.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    con = _connect()
    con.register("src", table)
    bad_by_day: dict[int, list[str]] = {}
    for day, line in bad_rows:
        bad_by_day.setdefault(day, []).append(line)
    for day in days:
        path = out_dir / f"{prefix}_{_day_name(day)}.csv"
        con.execute(
            f"copy (select {select_sql} from src where file_day = {day} order by row_order)"
            f" to '{path}' (header, delimiter ',')"
        )
        if day in bad_by_day:
            lines = path.read_bytes().split(b"\n")
            for line in bad_by_day[day]:
                at = 1 + (zlib.crc32(line.encode()) % max(len(lines) - 2, 1))
                lines.insert(at, line.encode())
            path.write_bytes(b"\n".join(lines))
    con.close()
    return len(days)


def write_web_hours(table: pa.Table, line_sql: str, out_dir: Path) -> int:
    """Write ``YYYY/MM/DD/HH.jsonl.gz`` files, one per hour of ``received``."""
    con = _connect()
    con.register("src", table)
    days = [
        r[0]
        for r in con.execute("select distinct received // 86400 from src order by 1").fetchall()
    ]
    files = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for day in days:
            day_table = con.sql(
                f"select received // 3600 as hour, ({line_sql}) || chr(10) as line from src"
                f" where received // 86400 = {day} order by received, message_seq"
            ).to_arrow_table()
            hours = day_table.column("hour").to_numpy()
            line = day_table.column("line").combine_chunks()
            if pa.types.is_large_string(line.type):
                offsets = np.frombuffer(line.buffers()[1], dtype=np.int64)
            else:
                offsets = np.frombuffer(line.buffers()[1], dtype=np.int32)
            offsets = offsets[line.offset : line.offset + len(line) + 1]
            data = memoryview(line.buffers()[2])
            starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
            ends = np.r_[starts[1:], len(hours)]
            jobs = []
            for a, b in zip(starts, ends, strict=True):
                hour = datetime.fromtimestamp(int(hours[a]) * 3600, UTC)
                path = out_dir / hour.strftime("%Y/%m/%d/%H.jsonl.gz")
                path.parent.mkdir(parents=True, exist_ok=True)
                chunk = data[offsets[a] : offsets[b]]
                jobs.append(pool.submit(_write_gzip, path, chunk))
            for job in jobs:
                job.result()
            files += len(jobs)
    con.close()
    return files


def _write_gzip(path: Path, chunk: memoryview) -> None:
    # mtime=0 makes the bytes depend on the content only, so regenerating the
    # same history leaves the files untouched for the incremental extractor.
    path.write_bytes(gzip.compress(chunk, compresslevel=3, mtime=0))


SHOP_DDL = """
create table customers (
    customer_id integer primary key,
    email text,
    first_name text,
    last_name text,
    phone text,
    country text,
    created_at text not null,
    updated_at text not null
);
create table products (
    product_id integer primary key,
    name text not null,
    category text not null,
    price numeric not null,
    created_at text not null,
    updated_at text not null
);
create table orders (
    order_id integer primary key,
    customer_id integer references customers (customer_id),
    email text,
    status text not null,
    currency text not null,
    subtotal numeric not null,
    shipping numeric not null,
    tax numeric not null,
    total numeric not null,
    created_at text not null,
    updated_at text not null
);
create table order_items (
    order_item_id integer primary key,
    order_id integer not null references orders (order_id),
    product_id integer not null references products (product_id),
    quantity integer not null,
    unit_price numeric not null,
    created_at text not null,
    updated_at text not null
);
create table refunds (
    refund_id integer primary key,
    order_id integer not null references orders (order_id),
    order_item_id integer references order_items (order_item_id),
    amount numeric not null,
    reason text,
    created_at text not null,
    updated_at text not null
);
create index orders_updated_at on orders (updated_at);
create index refunds_updated_at on refunds (updated_at);
create index customers_updated_at on customers (updated_at);
create index order_items_updated_at on order_items (updated_at);
create index products_updated_at on products (updated_at);
"""


def sql_ts(epoch: np.ndarray) -> np.ndarray:
    """Epoch seconds as SQLite-style UTC text (``YYYY-MM-DD HH:MM:SS``)."""
    text = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s").astype(object)
    return np.asarray([t.replace("T", " ") for t in text], dtype=object)


def write_shop(path: Path, tables: dict[str, dict[str, np.ndarray]]) -> None:
    """Replace the shop database with ``tables`` (column name -> values)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    con.executescript(SHOP_DDL)
    for name in ("customers", "products", "orders", "order_items", "refunds"):
        cols = tables[name]
        names = list(cols)
        rows = zip(*(_python_values(cols[c]) for c in names), strict=True)
        con.executemany(
            f"insert into {name} ({', '.join(names)}) values ({', '.join('?' * len(names))})",
            rows,
        )
    con.commit()
    con.close()
    tmp.replace(path)


def _python_values(values: np.ndarray) -> list:
    if values.dtype == object:
        return values.tolist()
    if np.issubdtype(values.dtype, np.floating):
        return [None if np.isnan(v) else v for v in values.tolist()]
    return values.tolist()
