import numpy as np

from topicfit.plots import per_class_figure, plot_confusion_matrix, plot_learning_curve, reliability_figure, scores_figure


def test_run_figures_are_pngs(tmp_path):
    classes = [f"class.{i}" for i in range(20)]
    counts = np.random.default_rng(0).integers(0, 50, (20, 20))
    plot_confusion_matrix(counts, classes, tmp_path / "cm.png")
    plot_learning_curve([{"epoch": 0.5, "loss": 1.0}, {"epoch": 1.0, "eval_loss": 0.8, "eval_macro_f1": 0.6}], tmp_path / "lc.png")
    assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "lc.png").stat().st_size > 1000


def test_report_figures_are_pngs():
    for data in (scores_figure(["a", "b"], [0.5, 0.9], [0.4, 0.8]), per_class_figure(["a"], ["x", "y"], np.array([[0.5, np.nan]])),
                 reliability_figure({"a": (0.1, [{"confidence": 0.5, "accuracy": 0.4}])})):
        assert data[:4] == b"\x89PNG"
