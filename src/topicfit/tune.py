"""Hyperparameter search with Optuna, judged on the validation split only, for any kind with a search space.

    topicfit tune --labels coarse --model minilm --trials 12 --quick --output runs/tune-minilm
    topicfit tune --labels coarse --method tfidf-svm --trials 40 --output runs/tune-svm

The first trial is always the kind's reading of the user's settings (``default_params``: topicfit's defaults
unless flags change them), so the study itself measures what the search gains. A trial that falls behind the
median of the trials with the same schedule at the same epoch is pruned (median pruner). The study lives in
``study.db`` (SQLite) inside the output folder, so ``--resume`` continues an interrupted search. At the end
the best settings are retrained on the full training data into ``best/``, a normal run folder written by the
workflow and evaluated once on the test split; the optimisation history and the parameter importances are
drawn beside it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from .data import DataConfig, load_splits
from .errors import ConfigError, TopicfitError
from .metrics import compute_metrics
from .registry import get_kind
from .runs import BEST_DIR, BEST_PARAMS_FILE, STUDY_FILE, TRIALS_FILE, TUNE_FILE, start_run, write_json
from .workflow import fit_run, predict_documents

logger = logging.getLogger(__name__)

STUDY_NAME = "topicfit"


def tune(data_config: DataConfig, output: str | Path, *, kind: str, config, trials: int = 10, timeout_minutes: float | None = None,
         quick: bool = False, quick_samples: int = 1000, resume: bool = False, overwrite: bool = False) -> dict:
    """Run (or resume) a study, retrain the best settings into ``output/best`` and return a summary.

    Args:
        kind (str): a registry kind with a search space (``baseline`` with a TF-IDF method, ``transformer``).
        config: the kind's settings; the searched ones start from here (trial 0).
        quick (bool): trials train on ``quick_samples`` stratified training posts (scored on the full validation split).
    """
    import optuna

    cls = get_kind(kind)
    defaults = cls.default_params(config, quick=quick)
    if defaults is None:
        raise ConfigError(f"{cls(config).method} has nothing to tune")
    optuna.logging.set_verbosity(optuna.logging.INFO if logger.isEnabledFor(logging.INFO) else optuna.logging.WARNING)
    out = start_run(output, overwrite=overwrite, resume=resume)
    splits = load_splits(data_config)
    trial_splits = load_splits(DataConfig.from_dict({**data_config.to_dict(), "max_train_samples": quick_samples})) if quick else splits
    study = optuna.create_study(storage=f"sqlite:///{out / STUDY_FILE}", study_name=STUDY_NAME, direction="maximize",
                                load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=data_config.seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    if not study.trials:
        study.enqueue_trial(defaults)  # trial 0 = the user's settings: the baseline the search must beat
    deadline = time.monotonic() + timeout_minutes * 60 if timeout_minutes else None

    def objective(trial) -> float:
        model = cls(cls.with_params(config, cls.search_space(trial, config, quick=quick)))
        with tempfile.TemporaryDirectory(prefix="topicfit-trial-") as tmp:
            model.fit(trial_splits.train.texts, trial_splits.train.labels, X_val=trial_splits.validation.texts,
                      y_val=trial_splits.validation.labels, classes=trial_splits.classes, workdir=Path(tmp),
                      **model.trial_options(trial, deadline))
        if model.validation_macro_f1_ is not None:  # scored while fitting (the best epoch's)
            return model.validation_macro_f1_
        labels, _, _ = predict_documents(model, trial_splits.validation.texts)
        return compute_metrics(references=trial_splits.validation.labels, predictions=labels, classes=trial_splits.classes)["macro_f1"]

    done = sum(t.state.is_finished() for t in study.trials)
    remaining = max(0, trials - done)
    logger.info("study %s: %d trials done, %d to go", out / STUDY_FILE, done, remaining)
    start = time.perf_counter()
    if remaining:  # a user's mistake in one trial's settings fails that trial; any other error is a bug and stops the search
        study.optimize(objective, n_trials=remaining, timeout=timeout_minutes * 60 if timeout_minutes else None, catch=(TopicfitError,))
    search_seconds = time.perf_counter() - start
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise TopicfitError("no trial completed (see the log for pruned or failed ones); a --timeout shorter than one trial stops them all")
    best = study.best_trial
    default = study.trials[0].value if study.trials[0].state == optuna.trial.TrialState.COMPLETE else None
    _plots(study, out)
    study.trials_dataframe().to_csv(out / TRIALS_FILE, index=False)

    # retrain the best settings on the full training data; the test split is scored once, here
    best_config = cls.with_params(config, best.params)
    _, _, metrics = fit_run(cls(best_config), data_config, out / BEST_DIR, splits=splits, overwrite=True)
    test = metrics["test"]
    summary = {"target": getattr(config, "model", None) or cls(config).method, "quick": quick, "trials": len(study.trials),
               "completed": len(complete), "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
               "default_params": study.trials[0].params, "best_params": best.params, "best_validation_macro_f1": best.value,
               "default_validation_macro_f1": default, "gain_over_defaults": None if default is None else best.value - default,
               "search_seconds": round(search_seconds, 1), "best_run": str(out / BEST_DIR),
               "best_test": {k: test[k] for k in ("accuracy", "macro_f1", "weighted_f1", "loss", "n")}}
    write_json(out / TUNE_FILE, summary)
    write_json(out / BEST_PARAMS_FILE, best.params)
    logger.info("best validation macro-F1 %.4f (defaults %s) with %s", best.value, default, best.params)
    return summary


def _plots(study, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    import optuna.visualization.matplotlib as ovm

    for name, draw in (("optimization_history.png", ovm.plot_optimization_history), ("param_importances.png", ovm.plot_param_importances)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                ax = draw(study)
            ax.figure.set_size_inches(8, 5)
            ax.figure.tight_layout()
            ax.figure.savefig(out / name, dpi=100)
            plt.close(ax.figure)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # e.g. importances need 2+ completed trials
            logger.warning("could not draw %s: %s", name, exc)
    shutil.rmtree(out / "__pycache__", ignore_errors=True)
