"""Prediction on Dask: two local worker processes give exactly what `topicfit predict` gives, row for row."""

import json

import pytest

from topicfit.cli import main
from topicfit.errors import ConfigError
from topicfit.predict import TopicClassifier, predict_inputs

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def svm_run(tiny_archive, tmp_path_factory):
    run = tmp_path_factory.mktemp("engines") / "svm"
    assert main(["-q", "baseline", "--data", str(tiny_archive), "--method", "tfidf-svm", "--output", str(run)]) == 0
    return run


def test_two_dask_workers_predict_what_topicfit_predict_does(svm_run):
    import pandas as pd

    from topicfit.engines import predict_dataframe

    texts = [f"orbit launch nasa {i}" if i % 3 else f"car engine dealer {i}" for i in range(40)] + ["", "  "]
    frame = pd.DataFrame({"id": range(len(texts)), "text": texts})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        result = predict_dataframe(svm_run, dd.from_pandas(frame, npartitions=4), top_k=2).compute()
        workers = {w for w in client.run(lambda: __import__("os").getpid()).values()}
    assert len(workers) == 2 and list(result["id"]) == list(range(len(texts)))  # one row per input row, in order
    expected = predict_inputs(TopicClassifier.load(svm_run), [{"index": i, "text": t} for i, t in enumerate(texts)], top_k=2)
    assert list(result["label"]) == [r["label"] for r in expected]
    assert [json.loads(k) for k in result["top_k"]] == [r["top_k"] for r in expected]
    assert result["warning"].notna().sum() == 2  # the empty texts are flagged, as predict flags them


def test_a_missing_column_names_the_columns(svm_run):
    import pandas as pd

    from topicfit.engines import predict_dataframe

    with pytest.raises(ConfigError, match=r"no column 'body'; its columns: \['text'\]"):
        predict_dataframe(svm_run, dd.from_pandas(pd.DataFrame({"text": ["a"]}), npartitions=1), text_column="body")


def test_a_non_string_text_gets_an_error_row(svm_run):
    import pandas as pd

    from topicfit.engines import predict_partition

    out = predict_partition(pd.DataFrame({"text": ["orbit launch", None, 3]}), run_dir=str(svm_run))
    assert out["error"].isna().tolist() == [True, False, False] and out["label"].iloc[0] is not None
