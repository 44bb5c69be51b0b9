"""Prediction on Dask (topicfit.engines.predict_dataframe) with 1 and 2 local worker processes: docs/s of the whole
computation (workers start, load the run once each, predict every partition), and that the answers equal
`topicfit predict`'s on a sample.

    python benchmarks/dask_predict.py runs/svm --docs 200000 --partitions 16

Writes benchmarks/results/dask-predict.json.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import machine, relative, write_result  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run (e.g. a TF-IDF baseline)")
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    import dask.dataframe as dd
    import distributed
    import pandas as pd

    from topicfit.data import load_newsgroups
    from topicfit.engines import predict_dataframe
    from topicfit.predict import TopicClassifier, predict_inputs

    posts = [t for t in load_newsgroups(subset="test").texts if t.strip()]
    texts = [posts[i % len(posts)][:300] for i in range(args.docs)]  # test posts, cut to 300 characters, repeated
    frame = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=args.partitions)
    rows = []
    for n in args.workers:
        with distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            start = time.perf_counter()
            result = predict_dataframe(args.run, frame).compute()
            seconds = time.perf_counter() - start
        rows.append({"workers": n, "docs": len(result), "seconds": round(seconds, 1), "docs_per_second": round(len(result) / seconds, 1)})
        print(rows[-1], flush=True)
    sample = texts[:2000]
    expected = [r["label"] for r in predict_inputs(TopicClassifier.load(args.run), [{"index": i, "text": t} for i, t in enumerate(sample)])]
    same = list(result["label"][:2000]) == expected
    write_result("dask-predict", {"run": relative(args.run), "partitions": args.partitions, "rows": rows, "equal_to_topicfit_predict_on_2000": same},
                 f"python benchmarks/dask_predict.py {relative(args.run)} --docs {args.docs} --partitions {args.partitions}", machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
