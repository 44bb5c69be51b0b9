"""Hyperparameter search with Optuna, judged on the validation split only.

    topicfit tune --labels coarse --model minilm --trials 12 --quick --output runs/tune-minilm
    topicfit tune --labels coarse --method tfidf-svm --trials 40 --output runs/tune-svm

The first trial is always topicfit's defaults, so the study itself measures what the search gains. A trial
that falls behind the median of the trials with the same schedule at the same epoch is pruned (median
pruner). The study lives in ``study.db`` (SQLite) inside the output folder, so ``--resume`` continues an
interrupted search. At the end the best settings are retrained on
the full training data into ``best/``, a normal run folder, evaluated once on the test split; the optimisation
history and the parameter importances are drawn beside it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from .data import DataConfig, load_splits
from .runs import start_run, write_json

logger = logging.getLogger(__name__)

STUDY_FILE = "study.db"
STUDY_NAME = "topicfit"

# scikit-learn parameter names (Pipeline.set_params) of each TF-IDF baseline's own regulariser
REGULARISER = {"tfidf-logreg": ("clf__C", 0.1, 300.0), "tfidf-svm": ("clf__estimator__C", 0.01, 10.0),
               "tfidf-ridge": ("clf__alpha", 0.01, 10.0), "tfidf-nb": ("clf__alpha", 0.01, 1.0)}
DEFAULT_BASELINE_PARAMS = {"tfidf-logreg": 30.0, "tfidf-svm": 0.5, "tfidf-ridge": 1.0, "tfidf-nb": 0.3}


def suggest_transformer(trial, *, quick: bool, base=None) -> dict:
    """Learning rate, epochs, batch size, warm-up, weight decay and, except in quick mode, max length.

    The ranges always contain ``base`` (the user's own settings, which trial 0 runs), so e.g. ``--max-length 64``
    or ``--epochs 5`` widen the search instead of failing it. Quick trials keep the user's max length: a search
    on 1,000 posts picked 128 tokens, while on the full data 256 did better (BENCHMARKS.md).
    """
    def span(name, low, high):
        value = getattr(base, name, None)
        return (low, high) if value is None else (min(low, value), max(high, value))

    def choices(name, options):
        value = getattr(base, name, None)
        return sorted(set(options) | ({value} if value is not None else set()))

    params = {
        "learning_rate": trial.suggest_float("learning_rate", *span("learning_rate", 2e-5, 3e-4), log=True),
        "epochs": trial.suggest_int("epochs", *(int(round(v)) for v in span("epochs", 1, 3 if quick else 4))),
        "batch_size": trial.suggest_categorical("batch_size", choices("batch_size", [8, 16, 32])),
        "warmup": trial.suggest_float("warmup", *span("warmup", 0.0, 0.2)),
        "weight_decay": trial.suggest_float("weight_decay", *span("weight_decay", 0.0, 0.1)),
    }
    if not quick:
        params["max_length"] = trial.suggest_categorical("max_length", choices("max_length", [128, 256, 384]))
    return params


def suggest_baseline(trial, method: str) -> dict:
    """The model's regulariser and the TF-IDF n-gram range, min_df and sublinear term frequency."""
    name, low, high = REGULARISER[method]
    return {
        name: trial.suggest_float(name, low, high, log=True),
        "tfidf__ngram_range": tuple(int(n) for n in trial.suggest_categorical("tfidf__ngram_range", ["1,1", "1,2"]).split(",")),
        "tfidf__min_df": trial.suggest_int("tfidf__min_df", 1, 5),
        "tfidf__sublinear_tf": trial.suggest_categorical("tfidf__sublinear_tf", [True, False]),
    }


def _defaults(method: str | None, train_config, quick: bool = False) -> dict:
    if method:
        return {REGULARISER[method][0]: DEFAULT_BASELINE_PARAMS[method], "tfidf__ngram_range": "1,1", "tfidf__min_df": 2,
                "tfidf__sublinear_tf": True}
    params = {"learning_rate": train_config.learning_rate, "epochs": int(round(train_config.epochs)), "batch_size": train_config.batch_size,
              "warmup": train_config.warmup, "weight_decay": train_config.weight_decay, "max_length": train_config.max_length}
    if quick:
        del params["max_length"]  # not searched in quick mode
    return params


def _pruning_callback(trial, epochs: float, deadline: float | None = None):
    """Report validation macro-F1 after each epoch, at step = percent of the trial's schedule done.

    Trials are thus compared only at the same point of the same schedule: the first epoch of a 3-epoch run
    (learning rate still high) is never judged against the finished 1-epoch run. A trial still training at
    the search's ``deadline`` (``time.monotonic()``) is stopped and pruned, so ``--timeout`` is kept.
    """
    import optuna
    from transformers import TrainerCallback

    class Prune(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if deadline is not None and time.monotonic() > deadline:
                raise optuna.TrialPruned(f"stopped at step {state.global_step}: the search's --timeout is up")

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            trial.report(metrics["eval_macro_f1"], step=int(round(100 * (state.epoch or 0) / epochs)))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {state.epoch}")

    return Prune()


def tune(data_config: DataConfig, output: str | Path, *, method: str | None = None, train_config=None, trials: int = 10,
         timeout_minutes: float | None = None, quick: bool = False, quick_samples: int = 1000, resume: bool = False,
         overwrite: bool = False) -> dict:
    """Run (or resume) a study, retrain the best settings into ``output/best`` and return a summary.

    Args:
        method (str | None): a TF-IDF baseline to tune; ``None`` tunes the transformer ``train_config.model``.
        quick (bool): transformers only: trials train on ``quick_samples`` stratified training posts.
    """
    import optuna

    from .baselines import fit_baseline_run, make_baseline
    from .evaluate import compute_metrics, predict_split
    from .train import TrainConfig, TransformerClassifier, fit_transformer_run

    if method is not None and method not in REGULARISER:
        raise ValueError(f"tune works for the TF-IDF baselines {sorted(REGULARISER)} or a transformer, not {method!r}")
    optuna.logging.set_verbosity(optuna.logging.INFO if logger.isEnabledFor(logging.INFO) else optuna.logging.WARNING)
    train_config = train_config or TrainConfig()
    out = start_run(output, overwrite=overwrite, resume=resume)
    splits = load_splits(data_config)
    trial_splits = splits
    if quick and method is None:
        trial_splits = load_splits(DataConfig.from_dict({**data_config.to_dict(), "max_train_samples": quick_samples}))
    study = optuna.create_study(storage=f"sqlite:///{out / STUDY_FILE}", study_name=STUDY_NAME, direction="maximize",
                                load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=data_config.seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    if not study.trials:
        study.enqueue_trial(_defaults(method, train_config, quick and method is None))  # trial 0 = the defaults: the baseline the search must beat

    def objective(trial) -> float:
        if method is not None:
            params = suggest_baseline(trial, method)
            clf = make_baseline(method, seed=data_config.seed).set_params(**params)
            clf.fit(trial_splits.train.texts, trial_splits.train.labels)
            preds, _, _ = predict_split(clf, trial_splits.validation.texts)
            return compute_metrics(references=trial_splits.validation.labels, predictions=preds, classes=trial_splits.classes)["macro_f1"]
        params = suggest_transformer(trial, quick=quick, base=train_config)
        config = TrainConfig.from_dict({**train_config.to_dict(), **params})
        with tempfile.TemporaryDirectory(prefix="topicfit-trial-") as tmp:
            clf = TransformerClassifier(config, output_dir=tmp)
            clf.fit(trial_splits.train.texts, trial_splits.train.labels, X_val=trial_splits.validation.texts,
                    y_val=trial_splits.validation.labels, classes=trial_splits.classes, callbacks=[_pruning_callback(trial, config.epochs, deadline)])
        return max(h["eval_macro_f1"] for h in clf.history_ if "eval_macro_f1" in h)

    done = sum(t.state.is_finished() for t in study.trials)
    remaining = max(0, trials - done)
    logger.info("study %s: %d trials done, %d to go", out / STUDY_FILE, done, remaining)
    start = time.perf_counter()
    deadline = time.monotonic() + timeout_minutes * 60 if timeout_minutes else None
    if remaining:
        study.optimize(objective, n_trials=remaining, timeout=timeout_minutes * 60 if timeout_minutes else None, catch=(ValueError,))
    search_seconds = time.perf_counter() - start
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError("no trial completed (see the log for pruned or failed ones); a --timeout shorter than one trial stops them all")
    best = study.best_trial
    default = study.trials[0].value if study.trials[0].state == optuna.trial.TrialState.COMPLETE else None
    _plots(study, out)
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)

    # retrain the best settings on the full training data; the test split is scored once, here
    best_dir = start_run(out / "best", overwrite=True)
    if method is not None:
        params = {k: (tuple(int(n) for n in v.split(",")) if k == "tfidf__ngram_range" else v) for k, v in best.params.items()}
        _, metrics = fit_baseline_run(method, splits, data_config, best_dir, params=params)
        test = metrics["test"]
    else:
        config = TrainConfig.from_dict({**train_config.to_dict(), **best.params})
        test = fit_transformer_run(splits, data_config, config, best_dir)["test"]
    summary = {"target": method or train_config.model, "quick": quick, "trials": len(study.trials), "completed": len(complete),
               "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
               "best_params": best.params, "best_validation_macro_f1": best.value, "default_validation_macro_f1": default,
               "gain_over_defaults": None if default is None else best.value - default, "search_seconds": round(search_seconds, 1),
               "best_run": str(best_dir), "best_test": {k: test[k] for k in ("accuracy", "macro_f1", "weighted_f1", "loss", "n")}}
    write_json(out / "tune.json", summary)
    write_json(out / "best_params.json", best.params)
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
