"""The reference for quarry's pivot and unpivot: polars' own.

Reads cases.json (written by tests/recipes.rs), and for each case reads the
input CSV with the case's dtypes, reshapes it with polars' `pivot` or
`unpivot`, and compares the result with quarry's Parquet output. Prints one
line per case; exits 1 on the first difference, with both frames.
"""

import json
import sys

import polars as pl
from polars.testing import assert_frame_equal

AGG = {
    "sum": "sum",
    "mean": "mean",
    "min": "min",
    "max": "max",
    "first": "first",
    "last": "last",
    # quarry's count counts values (nulls skipped), as polars' count().
    "count": pl.element().count(),
}


def as_floats(df, keys):
    return df.with_columns(
        [pl.col(c).cast(pl.Float64) for c in df.columns if c not in keys]
    )


def main(path):
    cases = json.load(open(path))
    for case in cases:
        schema = {k: getattr(pl, v) for k, v in case["dtypes"].items()}
        df = pl.read_csv(case["input"], schema_overrides=schema)
        ours = pl.read_parquet(case["output"])
        if case["op"] == "pivot":
            want = df.pivot(
                on=case["on"],
                index=case["index"],
                values=case["values"],
                aggregate_function=AGG[case["agg"]],
            ).sort(case["index"])
            want = want.select(case["index"] + sorted(c for c in want.columns if c not in case["index"]))
            ours = ours.select(case["index"] + sorted(c for c in ours.columns if c not in case["index"]))
            want, ours = as_floats(want, case["index"]), as_floats(ours, case["index"])
        else:
            keys = case["index"] + ["variable", "value"]
            want = df.unpivot(on=case["on"], index=case["index"]).sort(keys, nulls_last=True)
            ours = ours.sort(keys, nulls_last=True)
        try:
            assert_frame_equal(ours, want, check_dtypes=False, abs_tol=1e-9)
        except AssertionError as e:
            print(f"case {case['name']}: quarry differs from polars: {e}")
            print("quarry:", ours)
            print("polars:", want)
            sys.exit(1)
        print(f"case {case['name']}: {case['op']} equal ({ours.height} rows, {ours.width} columns)")


if __name__ == "__main__":
    main(sys.argv[1])
