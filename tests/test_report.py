import pytest

from topicfit.cli import main


@pytest.mark.parametrize("name", ["report.html", "report.md"])
def test_report_compares_runs(tiny_env, tmp_path, name):
    for method in ("majority", "tfidf-logreg", "tfidf-ridge"):
        assert main(["-q", "baseline", "--method", method, "--output", str(tmp_path / method), "--validation-size", "0.25"]) == 0
    out = tmp_path / "out" / name
    assert main(["-q", "report", str(tmp_path / "majority"), str(tmp_path / "tfidf-logreg"), str(tmp_path / "tfidf-ridge"),
                 str(tmp_path / "not-a-run"), "--output", str(out)]) == 0
    text = out.read_text()
    assert "tfidf-logreg" in text and "Most confused pairs" in text and "Calibration" in text
    if name.endswith(".html"):
        assert text.count("data:image/png;base64,") == 3
    else:
        assert (tmp_path / "out" / "report_files" / "calibration.png").exists()
    assert "20news-bydate-test/" in text  # misclassified posts are quoted with their ids
