"""Render benchmarks/results/*.json as the Markdown tables in BENCHMARKS.md, benchmarks/ARCHIVE.md and README.md
(between the ``<!-- NAME:begin -->`` / ``<!-- NAME:end -->`` marker comments; NAME is a key of ``SECTIONS``).

    python benchmarks/tables.py          # rewrites the tables in those files in place

Accuracy rows are split by family (baselines and fine-tuning, frozen encoders and ensembles, distillation and
the prior). A row goes to the archive page instead when it was made under the old random validation split or
when its result says why it is archived (its ``archived`` field: made before a rule change, superseded, or the
same model as another row).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUTPUTS = ("BENCHMARKS.md", "README.md", "benchmarks/ARCHIVE.md")  # relative to the repository root
ORDER = ["random", "majority", "tfidf-nb", "tfidf-ridge", "tfidf-logreg", "tfidf-svm"]
ACTIVE_STEP = 8  # labelled posts a class a round in the default active-learning table (active_learning.py --step)
RANDOM_SPLIT = "validation split: a random 10% of the training posts, which shares threads with them (before the date split)"


def fmt(x, digits=4):
    return "n/a" if x is None else f"{x:.{digits}f}"


def speed(r: dict) -> str:
    """Test docs/s; a run that read its embeddings from the cache measured no encoder, so it shows none."""
    if "embed-" in r["method"]:  # the embed kind, or an ensemble with an embed member: see the embedding cost table
        return "cached"
    return fmt(r["test"].get("docs_per_second"), 0)


def accuracy_results() -> list[dict]:
    """The accuracy results (``benchmarks/results/{coarse,fine}-*.json`` with a task and test metrics), in name order."""
    found = []
    for scheme in ("coarse", "fine"):
        for path in sorted((ROOT / "results").glob(f"{scheme}-*.json")):
            r = json.loads(path.read_text())
            if r.get("task") == f"20newsgroups-{scheme}" and "test" in r:
                found.append(r)
    return found


def archived(r: dict) -> str | None:
    """Why an accuracy row belongs to the archive (None: it is current)."""
    if r.get("archived"):
        return r["archived"]
    if r.get("validation_split", "random") == "random":
        return RANDOM_SPLIT
    return None


def family(method: str) -> str:
    """Which BENCHMARKS.md family an accuracy row's method belongs to."""
    if method.startswith("distill-"):
        return "distill"
    if method.startswith(("embed-", "ensemble(", "stack(")):
        return "ensembles"
    return "baselines"  # the floors, TF-IDF baselines, fine-tuned transformers and any other single method


def display_method(method: str, longest: int = 100) -> str:
    """An ensemble's name without its members weighted 0.00 (counted instead); one still over ``longest`` characters
    shows its kind and number of members. The command below the table names every member."""
    m = re.fullmatch(r"(ensemble|stack)\((.*)\)(.*)", method)
    if not m:
        return method
    kind, inner, tag = m.groups()
    weighted = re.findall(r"(.+?)\*([0-9.]+)(?:\+|$)", inner)
    shown = method
    if weighted:
        kept = [(name, w) for name, w in weighted if float(w) > 0]
        if len(kept) < len(weighted):
            dropped = len(weighted) - len(kept)
            shown = f"{kind}(" + "+".join(f"{name}*{w}" for name, w in kept) + f"){tag} + {dropped} member{'s' * (dropped > 1)} at 0.00"
    if len(shown) > longest:
        n = len(weighted) or len(inner.split("+"))
        shown = f"{kind}({n} members){tag}"
    return shown


def accuracy_table(keep, archive: bool = False) -> str:
    """The accuracy rows that ``keep(result)`` accepts, one table per task (test split), then their commands;
    ``archive``: the archived rows, with why."""
    repo = str(ROOT.parent) + "/"
    found = [r for r in accuracy_results() if keep(r) and bool(archived(r)) == archive]
    out = []
    for task in sorted({r["task"] for r in found}):
        rows = [r for r in found if r["task"] == task]
        rows.sort(key=lambda r: (ORDER.index(r["method"]) if r["method"] in ORDER else len(ORDER), r["test"]["accuracy"]))
        classes = {"20newsgroups-coarse": "7 classes", "20newsgroups-fine": "20 classes"}.get(task, task)
        out += [f"**{task}** ({classes}; test split, n = {rows[0]['test']['n']})", "",
                "| method | accuracy | macro-F1 | weighted-F1 | loss | validation macro-F1 (split) | wall-clock s | test docs/s | date | machine |"
                + (" archived because |" if archive else ""),
                "|---|---:|---:|---:|---:|---:|---:|---:|---|---|" + ("---|" if archive else "")]
        for r in rows:
            t, v = r["test"], r.get("validation") or {}
            out.append(f"| {display_method(r['method'])} | {fmt(t['accuracy'])} | {fmt(t['macro_f1'])} | {fmt(t['weighted_f1'])} | {fmt(t['loss'])} | "
                       f"{fmt(v.get('macro_f1'))} ({r.get('validation_split', 'random')}) | {fmt(r['wall_clock_seconds'], 0)} | {speed(r)} | {r['date']} | "
                       f"{r['machine']['cores']} cores, {r['machine']['cpu']} |" + (f" {archived(r)} |" if archive else ""))
        out += ["", "Commands (from the repository root):", ""] + [f"- `{r['command'].replace(repo, '')}`" for r in rows] + [""]
    return "\n".join(out).rstrip() or "(no rows)"


def baselines_table() -> str:
    return accuracy_table(lambda r: family(r["method"]) == "baselines")


def ensembles_table() -> str:
    return accuracy_table(lambda r: family(r["method"]) == "ensembles")


def distill_table() -> str:
    return accuracy_table(lambda r: family(r["method"]) == "distill")


def archive_accuracy_table() -> str:
    return accuracy_table(lambda r: True, archive=True)


def results(pattern: str) -> list[dict]:
    """The result files matching ``pattern`` in benchmarks/results, loaded, in name order."""
    return [json.loads(p.read_text()) for p in sorted((ROOT / "results").glob(pattern))]


def each_result(pattern: str, command: str, lines) -> str:
    """The result files matching ``pattern``, each rendered by ``lines(result) -> list of lines``; until one
    exists, how to make it (``command``)."""
    found = results(pattern)
    if not found:
        return f"(not measured yet: {command})"
    return "\n".join(line for r in found for line in lines(r)).rstrip()


def made_by(r: dict) -> str:
    """The line that names a result's command, date and machine."""
    return f"`{r['command']}`; {r['date']}, {r['machine']['cores']} cores, {r['machine']['cpu']}."


def validation_table() -> str:
    path = ROOT / "results" / "validation.json"
    if not path.exists():
        return "(not measured yet: python benchmarks/validation.py)"
    r = json.loads(path.read_text())
    out = [made_by(r), "", "| scheme | validation split | method | validation macro-F1 | test macro-F1 | gap | validation accuracy | test accuracy |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        v, t = row["validation"], row["test"]
        out.append(f"| {row['scheme']} | {row['split']} | {row['method']} | {fmt(v['macro_f1'])} | {fmt(t['macro_f1'])} | "
                   f"{fmt(v['macro_f1'] - t['macro_f1'])} | {fmt(v['accuracy'])} | {fmt(t['accuracy'])} |")
    out += ["", "| scheme | validation split | mean abs. gap, macro-F1 | picked on validation | best on test |", "|---|---|---:|---|---|"]
    for s in r["summary"]:
        out.append(f"| {s['scheme']} | {s['split']} | {fmt(s['mean_abs_gap_macro_f1'])} | {s['picked_by_validation']} | {s['best_on_test']} |")
    return "\n".join(out)


def schemes_table() -> str:
    path = ROOT / "results" / "schemes.json"
    if not path.exists():
        return "(not measured yet: python benchmarks/schemes.py)"
    r = json.loads(path.read_text())
    out = [made_by(r), "", "| method | test accuracy: 20 groups summed | 7-category run | test macro-F1: 20 groups summed | 7-category run | "
           "validation macro-F1: 20 groups summed | 7-category run |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        t, v = row["test"], row["validation"]
        out.append(f"| {row['method']} | {fmt(t['20 groups summed']['accuracy'])} | {fmt(t['7 categories']['accuracy'])} | "
                   f"{fmt(t['20 groups summed']['macro_f1'])} | {fmt(t['7 categories']['macro_f1'])} | "
                   f"{fmt(v['20 groups summed']['macro_f1'])} | {fmt(v['7 categories']['macro_f1'])} |")
    return "\n".join(out)


def embed_heads_table() -> str:
    """benchmarks/embed_heads.py: the frozen-encoder kind's heads and calibrations, alone and with the TF-IDF SVM."""
    out = []
    for r in results("embed-heads-*.json"):
        out += [f"`{r['command']}` ({r['machine']['cpu']}, {r['date']}; {r['encoder']}). Cells: accuracy / macro-F1 / weighted-F1; "
                "log-loss on validation. The ensemble's TF-IDF weight is chosen on validation.", "",
                "| head | validation | validation log-loss | test | with tfidf-svm: validation | with tfidf-svm: test | fit s | chosen |",
                "|---|---|---:|---|---|---|---:|---|"]
        cell = lambda m: f"{m['accuracy']:.4f} / {m['macro_f1']:.4f} / {m['weighted_f1']:.4f}"  # noqa: E731
        for x in r["rows"]:
            e = x["ensemble_with_tfidf_svm"]
            out.append(f"| {x['head']} | {cell(x['validation'])} | {x['validation']['log_loss']:.3f} | {cell(x['test'])} | "
                       f"{cell(e['validation'])} | {cell(e['test'])} | {x['fit_seconds']} | {'**yes**' if x['chosen_by_validation'] else ''} |")
        out.append("")
    return "\n".join(out).rstrip() or "(no rows)"


def few_labels_table() -> str:
    """benchmarks/few_labels.py: each method at k labelled posts a class, mean ± standard deviation over the seeds."""
    out = []
    for r in results("few-labels-*.json"):
        commands = "; ".join(f"`{c}`" for c in r.get("commands") or [r["command"]])
        corpus = f"Outside corpus `{r['dataset']}` (`benchmarks/outside_data.py`): " if r.get("dataset") else "20 Newsgroups: "
        out += [f"{corpus}{len(r['classes'])} classes, {r['test_posts']} test posts, the same for every method ({r['cpu']}, {r['cores']} cores, "
                f"{r['date']}). Cells: mean ± standard deviation over the seeds. Made by {commands}.", "",
                "| k a class | method | seeds | accuracy | macro-F1 | weighted-F1 | fit s (mean) |", "|---:|---|---:|---|---|---|---:|"]
        for k in sorted({x["k"] for x in r["rows"]}, key=lambda k: k or 10**9):  # 0: the whole training split, last
            for method in dict.fromkeys(x["method"] for x in r["rows"]):
                group = [x for x in r["rows"] if x["k"] == k and x["method"] == method]
                if not group:
                    continue
                stat = lambda key: f"{np.mean([x[key] for x in group]):.4f} ± {np.std([x[key] for x in group]):.4f}"  # noqa: E731
                seconds = np.mean([x["fit_seconds"] for x in group])
                out.append(f"| {k or 'all'} | {method} | {len(group)} | {stat('accuracy')} | {stat('macro_f1')} | {stat('weighted_f1')} | "
                           f"{seconds:.0f} |")
        out.append("")
    for svg in sorted((ROOT / "results").glob("few-labels-*.svg")):  # few_labels.py draws the curve beside its results
        out += [f"![{svg.stem}: test accuracy and macro-F1 against labelled posts a class](benchmarks/results/{svg.name})", ""]
    return "\n".join(out).rstrip() or "(no rows)"


def fit_against_setfit(r: dict):
    """A few_labels.py result at 8 labelled posts a class: ``(seeds, fit's means, SetFit's means)`` over the seeds
    both finished (accuracy, macro-F1, weighted-F1), or ``None`` where no seed has both."""
    rows8 = [x for x in r["rows"] if x["k"] == 8]
    seeds = sorted({x["seed"] for x in rows8 if x["method"] == "fit"} & {x["seed"] for x in rows8 if x["method"] == "setfit-minilm"})
    if not seeds:
        return None
    means = [{k: float(np.mean([x[k] for x in rows8 if x["method"] == m and x["seed"] in seeds])) for k in ("accuracy", "macro_f1", "weighted_f1")}
             for m in ("fit", "setfit-minilm")]
    return seeds, means[0], means[1]


def few_labels_outside() -> str:
    """`topicfit fit` against SetFit at 8 labelled posts a class on each outside corpus (few_labels.py --dataset), over
    the seeds both finished."""
    out = []
    for r in results("few-labels-*.json"):
        if not r.get("dataset") or not (both := fit_against_setfit(r)):
            continue
        seeds, f, t = both
        out.append(f"`{r['dataset']}`, {len(r['classes'])} classes, 8 labelled posts a class, seeds {', '.join(map(str, seeds))} "
                   f"(those both finished), {r['test_posts']} test posts ({r['cpu']}, {r['date']}): `topicfit fit` "
                   f"{_cell(f['accuracy'], f['macro_f1'], f['weighted_f1'])}, SetFit 1.2 on the same MiniLM "
                   f"{_cell(t['accuracy'], t['macro_f1'], t['weighted_f1'])} (accuracy / macro-F1 / weighted-F1).")
    return "\n\n".join(out) or "(not measured yet: python benchmarks/few_labels.py --dataset FILE)"


def fewlabel_unlabelled_table() -> str:
    """benchmarks/fewlabel_unlabelled.py: the few-label kind's ways to learn from unlabelled posts, chosen on dev."""
    out = []
    for r in results("fewlabel-unlabelled-*.json"):
        out += [f"`{r['command']}` ({r['machine']['cpu']}, {r['date']}; {r['k']} labelled posts a class, a pool of {r['pool']} unlabelled "
                f"training posts, a development sample of {r['dev']} other training posts; mean of seeds {r['seeds']}). Cells: accuracy / "
                "macro-F1 / weighted-F1.", "", "| variant | development | test | chosen |", "|---|---|---|---|"]
        for x in r["summary"]:
            cell = lambda split: _cell(x[f"{split}_accuracy"], x[f"{split}_macro_f1"], x[f"{split}_weighted_f1"])  # noqa: E731
            out.append(f"| {x['variant']} | {cell('dev')} | {cell('test')} | {'**yes**' if x['variant'] == r['chosen_by_dev'] else ''} |")
        out.append("")
    return "\n".join(out).rstrip() or "(no rows)"


def _dev_to_half(summary: dict) -> float | None:
    """Active's mean validation accuracy at 16, 24 and 32 labelled posts a class: rounds every --step has."""
    at = [p.get("dev_accuracy_mean") for p in summary["active"] if p["per_class"] in (16, 24, 32)]
    return float(np.mean(at)) if len(at) == 3 and None not in at else None


def _is_default(r: dict) -> bool:
    """An active-learning result of suggest's default settings, the default step and the shared random start."""
    from topicfit.suggest import SuggestConfig

    return r["suggest"] == SuggestConfig().to_dict() and r.get("step", 8) == ACTIVE_STEP and r.get("cold_start", "random") == "random"


def active_learning_table() -> str:
    """benchmarks/active_learning.py: accuracy by labelled posts a class, chosen by `suggest` (its default settings)
    or at random, for each model in the loop; then every setting tried, with what it was chosen on (the validation
    split). Files of one setting (suggest's, the model's, the step) on one CPU, each run on some schemes, are one row:
    a rerun on another CPU (its embeddings differ in the last bits, and the loop's picks with them) is a row of its own."""
    import sys

    sys.path.insert(0, str(ROOT.parent / "src"))
    from topicfit.suggest import SuggestConfig

    from active_learning import summarise

    settings = {}
    for r in results("active-learning-*.json"):
        r["suggest"] = {**SuggestConfig().to_dict(), "spread": "kmeans", **r["suggest"]}  # files before --spread: k-means
        key = (json.dumps(r["suggest"], sort_keys=True), r["model"], r.get("step", 8), r["machine"]["cpu"], r.get("cold_start", "random"),
               r.get("dataset"))
        merged = settings.setdefault(key, {**r, "schemes": {}, "commands": []})
        for scheme, x in r["schemes"].items():  # a scheme in several files of one setting: their seeds together
            if scheme in merged["schemes"]:
                rows = merged["schemes"][scheme]["rows"]
                seen = {row["seed"] for row in rows}
                rows = rows + [row for row in x["rows"] if row["seed"] not in seen]
                x = {**x, "rows": rows, "seeds": sorted({row["seed"] for row in rows}), "summary": summarise(rows, x["classes"])}
            merged["schemes"][scheme] = x
        merged["commands"].append(f"`{r['command']}` ({r['machine']['cpu']}, {r['date']})")
    found = list(settings.values())
    default = [r for r in found if _is_default(r)]
    out = []
    for r in default:
        out += [f"Model in the loop: {r['model']}; " + "; ".join(r["commands"]) + ". Cells: test accuracy / macro-F1 / weighted-F1, mean over the seeds.", ""]
        for scheme, x in r["schemes"].items():
            steps = sorted({row["per_class"] for row in x["rows"]})
            seeds = sorted({row["seed"] for row in x["rows"]})
            corpus = f"outside corpus `{r['dataset']}` (`benchmarks/outside_data.py`), " if r.get("dataset") else ""
            out += [f"{corpus}{scheme} ({x['classes']} classes, {x['test_posts']} test posts, {len(seeds)} seeds):", "",
                    "| strategy | " + " | ".join(f"{p:g} a class" for p in steps) + " |", "|---|" + "---|" * len(steps)]
            for strategy in ("active", "random"):
                cells = []
                for p in steps:
                    group = [row for row in x["rows"] if row["strategy"] == strategy and row["per_class"] == p]
                    cells.append(_cell(*(float(np.mean([g[k] for g in group])) for k in ("accuracy", "macro_f1", "weighted_f1"))) if group else "")
                out.append(f"| {strategy} | " + " | ".join(cells) + " |")
            out.append("")
    if found:
        out += ["Every setting tried (same seeds; suggest's default is chosen on the validation split: active's mean accuracy at "
                "16, 24 and 32 a class, averaged over both schemes). Test: active at 32 a class against random at 64.", "",
                "| model in the loop | CPU | seeds (7 / 20 classes) | a class a round | pool factor | density | uncertainty | spread | validation, 7 classes | validation, 20 classes | mean | "
                "test 7 classes: active 32 / random 64 | test 20 classes: active 32 / random 64 | test: active reaches random's 64 at (7 / 20 classes) | "
                "20 classes, validation minus test: active 32 / random 64 | suggest's default |",
                "|---|---|---|---:|---:|---:|---|---|---:|---:|---:|---|---|---|---|---|"]
        twenty_newsgroups = [r for r in found if not r.get("dataset")]  # the settings were tried on 20 Newsgroups' two schemes
        for r in sorted(twenty_newsgroups, key=lambda r: (r["model"], -r.get("step", 8), r["suggest"]["spread"], r["suggest"]["pool_factor"], r["suggest"]["density"])):
            sm = {s: x["summary"] for s, x in r["schemes"].items()}
            dev = [_dev_to_half(sm[s]) if s in sm else None for s in ("coarse", "fine")]

            def at(s, strategy, p):
                return next((q["accuracy_mean"] for q in sm[s][strategy] if q["per_class"] == p), float("nan"))

            def reach(s):  # the fewest labelled posts a class at which active's mean test accuracy reaches random's at 64
                if s not in sm:
                    return "n/a"
                return f"{sm[s]['active_per_class_to_reach_it']:g} a class" if sm[s].get("active_per_class_to_reach_it") else "not by 64"

            coverage = f", coverage {r['suggest']['coverage']:g}" if r["suggest"].get("coverage") else ""
            n_seeds = " / ".join(str(len({row["seed"] for row in r["schemes"][s]["rows"]})) if s in r["schemes"] else "0" for s in ("coarse", "fine"))
            out.append(f"| {r['model']} | {r['machine']['cpu']} | {n_seeds} | {r.get('step', 8)} | {r['suggest']['pool_factor']} | {r['suggest']['density']:g}{coverage} | {r['suggest']['uncertainty']} | {r['suggest']['spread']}{', over each predicted class (--balance)' if r['suggest'].get('balance') else ''}{'; active starts from a topics run (--start topics)' if r.get('cold_start') == 'topics' else ''} | "
                       + " | ".join("n/a" if d is None else f"{d:.4f}" for d in dev)
                       + f" | {f'{np.mean(dev):.4f}' if None not in dev else 'n/a'} | "
                       + " | ".join(f"{at(s, 'active', 32):.4f} / {at(s, 'random', 64):.4f}" if s in sm else "n/a" for s in ("coarse", "fine"))
                       + " | " + " / ".join(reach(s) for s in ("coarse", "fine"))
                       + " | " + (" / ".join(f"{g:.4f}" for g in shift) if (shift := _shift(sm.get("fine"))) else "n/a")
                       + f" | {'**yes**' if _is_default(r) else ''} |")
    return "\n".join(out).rstrip() or "(no rows)"


def _shift(summary: dict | None) -> tuple[float, float] | None:
    """Validation minus test accuracy of active at 32 a class and of random at 64 (the bar's two points), or ``None``."""
    if not summary:
        return None
    active, random = ({p["per_class"]: p for p in summary[s]} for s in ("active", "random"))
    if 32 in active and 64 in random and "dev_accuracy_mean" in active[32] and "dev_accuracy_mean" in random[64]:
        return (active[32]["dev_accuracy_mean"] - active[32]["accuracy_mean"], random[64]["dev_accuracy_mean"] - random[64]["accuracy_mean"])
    return None


def active_shift_summary() -> str:
    """How much more each strategy scores on the validation split (each class's latest tenth of the training split,
    right after the pool in time) than on the test split (later posts), over every 20-class active-learning file:
    active at 32 a class against random at 64, the bar's two points."""
    gaps = [g for r in results("active-learning-*.json") if (g := _shift(r["schemes"].get("fine", {}).get("summary")))]
    if not gaps:
        return "(not measured yet: python benchmarks/active_learning.py --labels fine)"
    g = np.asarray(gaps)
    return (f"Over the {len(g)} 20-class files (`benchmarks/results/active-learning-*.json`, `python benchmarks/tables.py`): "
            f"validation minus test accuracy, active at 32 a class {g[:, 0].mean():.4f} in the mean, random at 64 a class "
            f"{g[:, 1].mean():.4f}; active's is the larger in {int((g[:, 0] > g[:, 1]).sum())} of {len(g)}.")


def suggest_picks_table() -> str:
    """benchmarks/suggest_picks.py: how learnable suggest's first picks are (the share that a head with every training
    label gets right, out of fold), against random picks, the pool and bands of the model's uncertainty."""
    r = next(iter(results("suggest-picks.json")), None)
    if r is None:
        return "(no rows)"
    out = [f"Model: {r['model']}, fitted on {r['start']} random labelled posts a class and the rest of the training split "
           f"unlabelled; `{r['command']}` ({r['machine']['cpu']}, {r['date']}). Cells: the mean over the seeds.", "",
           "| scheme | posts | learnable (every label, out of fold) | the model right (8 a class) | median words |", "|---|---|---:|---:|---:|"]
    for scheme, x in r["schemes"].items():
        rows = x["rows"]
        groups = {"suggest's picks": [row["suggest"] for row in rows], "random picks": [row["random"] for row in rows],
                  "the pool": [row["pool"] for row in rows]}
        groups |= {f"the pool, margin: {band}": [row["bands"][band] for row in rows] for band in rows[0]["bands"]}
        for name, cells in groups.items():
            mean = {key: float(np.mean([cell[key] for cell in cells])) for key in ("learnable", "right", "median_words")}
            out.append(f"| {scheme} ({x['classes']} classes, {len(rows)} seeds) | {name} | {mean['learnable']:.3f} | {mean['right']:.3f} | "
                       f"{mean['median_words']:.0f} |")
        fewest, most = min(row["picks_a_class"]["fewest"] for row in rows), max(row["picks_a_class"]["most"] for row in rows)
        out.append(f"| {scheme} | suggest's picks a true class (of {r['start']} a class on average): {fewest} to {most} | | | |")
    return "\n".join(out)


def topics_table() -> str:
    files = sorted((ROOT / "results").glob("topics-*.json"))
    side = [json.loads(p.read_text()) for p in files if not p.name.startswith(("topics-scale", "topics-words", "topics-evolve"))]  # their own tables
    scale = [json.loads(p.read_text()) for p in files if p.name.startswith("topics-scale")]
    out = []
    for r in side:
        out += [f"{r['task']}: {r['n_documents']} documents, {r['embedding'] if isinstance(r['embedding'], str) else r['model']} embeddings "
                f"shared by both tools; `{r['command']}`; {r['created'][:10]}, {r['machine']['cores']} cores, {r['machine']['cpu']}.", "",
                "| tool | topics asked | topics | NPMI | diversity | outlier share | without topic | NMI | ARI | transform agrees | same twice | s | peak MB |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
        for x in r["rows"]:
            out.append(f"| {x['tool']} | {x['n_topics_requested']} | {x['n_topics']} | {fmt(x['npmi'], 3)} | {fmt(x['diversity'], 3)} | "
                       f"{fmt(x['outlier_share'], 3)} | {x['documents_without_topic']} | {fmt(x.get('nmi'), 3)} | {fmt(x.get('ari'), 3)} | "
                       f"{fmt(x.get('transform_agreement'), 3)} | {'yes' if x.get('identical_runs') else 'no'} | {fmt(x.get('seconds'), 1)} | "
                       f"{fmt(x.get('peak_memory_mb'), 0)} |")
        rows = {x["tool"]: x for x in r["rows"] if str(x["n_topics_requested"]) == "20"}
        if {"topicfit", "bertopic"} <= set(rows):
            t, b, bo = rows["topicfit"], rows["bertopic"], rows.get("bertopic+reduce_outliers", rows["bertopic"])
            out += ["", f"At 20 topics: NPMI {t['npmi']:.3f} (topicfit) vs {b['npmi']:.3f} (BERTopic); NMI {t['nmi']:.3f} vs {b['nmi']:.3f} "
                        f"({bo['nmi']:.3f} after `reduce_outliers`): {t['nmi'] - b['nmi']:+.3f} ({t['nmi'] - bo['nmi']:+.3f}); diversity "
                        f"{t['diversity']:.3f}; documents without a topic {t['documents_without_topic']} vs {b['documents_without_topic']}."]
        out.append("")
    for r in scale:
        what = r["embedding"].get("what") or f"{r['embedding']['kind']} cut to {r['embedding'].get('max_length')} tokens"
        out += [f"Scale: {r['task']}; embeddings: {what}. `{r['command']}`; {r['created'][:10]}, "
                f"{r['machine']['cores']} cores, {r['machine']['cpu']}: {r['n_documents']:,} documents in {r['seconds']:.0f} s, peak memory "
                f"{r['peak_memory_mb']:.0f} MB (" + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in r["stages"].items()) + ").", ""]
    return "\n".join(out) or "(not measured yet: python benchmarks/topics.py; python benchmarks/topics_scale.py)"


def cost_table() -> str:
    out = []
    path = ROOT / "results" / "train-cost.json"
    if path.exists():
        r = json.loads(path.read_text())
        out += [f"Fine-tuning, one epoch, batch 16: `{r['command']}`; {r['date']}, {r['machine']['cores']} cores, {r['machine']['cpu']} "
                f"({', '.join(r['machine']['cpu_flags'])}). Seconds per epoch are the measured throughput extrapolated to the "
                "10,182 training posts.", "",
                "| model | max length | precision | posts/s | s per step | s per epoch (extrapolated) |", "|---|---:|---|---:|---:|---:|"]
        out += [f"| {x['model']} | {x['max_length']} | {x['precision']} | {fmt(x['train_samples_per_second'], 1)} | {fmt(x['seconds_per_step'], 2)} | "
                f"{x['epoch_seconds_extrapolated']} |" for x in r["rows"]] + [""]
    costs = [json.loads(p.read_text()) for p in sorted((ROOT / "results").glob("embed-cost-*.json"))]
    if costs:
        out += ["Frozen embeddings (the `embed` kind), whole posts in 256-token windows, cold cache (from the first run's `run.json`):", "",
                "| model | texts embedded | seconds | texts/s | run | date | machine |", "|---|---:|---:|---:|---|---|---|"]
        out += [f"| {c['model']} | {c['texts_embedded']} | {fmt(c['embed_seconds'], 0)} | {fmt(c['texts_per_second'], 1)} | `{c['run']}` | "
                f"{c['created'][:10]} | {c['machine']['cores']} cores, {c['machine']['cpu']} |" for c in costs]
    return "\n".join(out) or "(not measured yet: python benchmarks/train_cost.py; python benchmarks/methods.py)"


def long_documents_table() -> str:
    path = ROOT / "results" / "long-documents.json"
    if not path.exists():
        return "(not measured yet: python benchmarks/long_documents.py RUN ...)"
    r = json.loads(path.read_text())
    out = [f"Validation split only. `{r['command']}`; {r['date']}, {r['machine']['cores']} cores, {r['machine']['cpu']}.", "",
           "| run | labels | long documents | accuracy | macro-F1 | weighted-F1 | loss | docs/s |", "|---|---|---|---:|---:|---:|---:|---:|"]
    out += [f"| `{x['run']}` | {x['labels']} | {x['long_documents']} | {fmt(x['accuracy'])} | {fmt(x['macro_f1'])} | {fmt(x['weighted_f1'])} | "
            f"{fmt(x['loss'])} | {fmt(x['docs_per_second'], 1)} |" for x in r["rows"]]
    return "\n".join(out)


def truncation_table() -> str:
    path = ROOT / "results" / "truncation.json"
    if not path.exists():
        return "(not measured yet: python benchmarks/truncation.py)"
    r = json.loads(path.read_text())
    out = [f"MiniLM, {r['train_samples']} training posts (stratified), {r['epochs']:g} epoch(s), max length {r['max_length']}; "
           f"{r['date']}, {r['machine']['cores']} cores, {r['machine']['cpu']}.", "",
           "| truncation | validation accuracy | validation macro-F1 | validation loss | wall-clock s |", "|---|---:|---:|---:|---:|"]
    for row in r["rows"]:
        out.append(f"| {row['truncation']} | {fmt(row['validation_accuracy'])} | {fmt(row['validation_macro_f1'])} | "
                   f"{fmt(row['validation_loss'])} | {fmt(row['wall_clock_seconds'], 0)} |")
    out += ["", "Commands:", ""] + [f"- `{row['command']}`" for row in r["rows"]]
    return "\n".join(out)


def inference_table() -> str:
    """One table per CPU type seen (benchmarks/results/inference-<cpu>.json)."""
    return each_result("inference-*.json", "python benchmarks/inference.py RUN", inference_lines)


def inference_lines(r: dict) -> list[str]:
    m = r["machine"]
    out = [f"#### {m['cpu']}, {m['cores']} cores, flags: {', '.join(m['cpu_flags']) or 'none of avx512_vnni/avx512_bf16/amx'}", "",
            f"`{r['command']}` ({r['method']}, {r['labels']} labels, trained at {r['run_max_length']} tokens; {r['docs']} test posts "
            f"for throughput, the whole test split for accuracy); {r['date']}. Export with `--int8` and the validation check: "
            f"{r['export_seconds']:.0f} s.", "",
            "| max length | backend | batch size | docs/s | vs PyTorch fp32 | latency p50 ms | latency p99 ms | test accuracy | test macro-F1 |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        base = next(x for x in r["rows"] if x["backend"] == "pytorch fp32" and x["max_length"] == row["max_length"])
        out.append(f"| {row['max_length']} | {row['backend']} | {row['batch_size']} | {row['docs_per_second']:.1f} | "
                   f"{row['docs_per_second'] / base['docs_per_second']:.2f}x | {row.get('latency_ms_p50', '')} | {row.get('latency_ms_p99', '')} | "
                   f"{fmt(row['test_accuracy']) if 'test_accuracy' in row else ''} | {fmt(row['test_macro_f1']) if 'test_macro_f1' in row else ''} |")
    autos = [row for row in r["rows"] if row["backend"].startswith("auto")]
    out += ["", *[f"- auto at {row['max_length']} tokens: {row['auto_reason']}." for row in autos]]
    check = r["validation_check"]
    ref = check["reference"]
    out += [f"- Validation check ({check['n']} posts, `model/backends.json`; PyTorch fp32 {ref['accuracy']:.4f} / {ref['macro_f1']:.4f}): "
            + "; ".join(f"{name} {s['accuracy']:.4f} / {s['macro_f1']:.4f}{'' if s['within_budget'] else ' (over the budget)'}"
                        for name, s in check["backends"].items()) + ".", ""]
    return out


def load_table() -> str:
    """Every load test (``benchmarks/results/load_test*.json``), one row each."""
    found = results("load_test*.json")
    if not found:
        return "(not measured yet: python benchmarks/load_test.py RUN)"

    def batching(r: dict) -> str:
        if "batch_wait_ms" not in r:
            return "n/a (before batching)"
        return f"{r['batch_wait_ms']:g} ms, up to {r['max_batch']}" if r["batch_wait_ms"] else "off"

    def alone(r: dict) -> str:  # the model's own docs/s in the load test's process, before the server started
        m = r.get("model_alone")
        if not m:
            return "not measured"
        return (f"{m['docs_per_second_batches_of_connections']:.0f} / {m['docs_per_second_sorted_by_length']:.0f} "
                f"({r['requests_per_second'] / m['docs_per_second_sorted_by_length']:.0%} of sorted)")

    out = ["| run | backend | batching | texts a pass | connections | seconds | requests | failed | requests/s | p50 ms | p99 ms | "
           "model alone: batches in arrival order / sorted by length, docs/s | date | machine |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"]
    for r in found:
        flags = ", ".join(r["machine"].get("cpu_flags") or []) or "flags not recorded"
        out.append(f"| `{r['run']}` | {r['backend']} | {batching(r)} | {r.get('batch_size') or 'default'} | {r['connections']} | {r['seconds']} | "
                   f"{r['requests']} | {r['failed']} | {r['requests_per_second']} | {r['latency_ms_p50']} | {r['latency_ms_p99']} | {alone(r)} | "
                   f"{r['date']} | {r['machine']['cores']} cores, {r['machine']['cpu']} ({flags}) |")
    return "\n".join(out + ["", "Commands:", ""] + [f"- `{r['command']}`" for r in found])


def load_summary() -> str:
    """The batching bar of the smaller student, in words, from its load tests (batched, unbatched, texts a pass)."""
    by = {}
    for path in sorted((ROOT / "results").glob("load_test-l3-*.json")):
        by[path.stem.removeprefix("load_test-l3-")] = json.loads(path.read_text())
    b, u = by.get("batched"), by.get("unbatched")
    if not b or not u or not b.get("model_alone"):
        return "(not measured yet: python benchmarks/load_test.py benchmarks/runs/coarse/distill-minilm-l3 --batch-wait-ms 5 | 0)"
    alone = b["model_alone"]
    arrival, ordered = alone["docs_per_second_batches_of_connections"], alone["docs_per_second_sorted_by_length"]
    n = b["connections"]
    out = [f"On the smaller student (`{b['run']}`, {b['backend']}; {b['machine']['cores']} cores, {b['machine']['cpu']}, {b['date']}), batching lifts "
           f"single-text requests at {n} connections from {u['requests_per_second']} to {b['requests_per_second']} requests/s, and p99 from "
           f"{u['latency_ms_p99']} to {b['latency_ms_p99']} ms. Timed alone in the load test's process just before the server started, the "
           f"model does {arrival:.0f} docs/s on batches of {n} posts in the clients' order (what a gathered batch holds) and {ordered:.0f} on "
           f"the same posts sorted by length (how the inference table batches: little padding). The batched server reaches "
           f"{b['requests_per_second'] / arrival:.0%} of the first and {b['requests_per_second'] / ordered:.0%} of the second."]
    sizes = [(k, r) for k, r in by.items() if k.startswith("batched-bs")]
    if sizes:
        out.append("With fewer texts per forward pass inside a batch (`serve --batch-size`, sorted by length first): " + "; ".join(
            f"{r['batch_size']}: {r['requests_per_second']} requests/s, p99 {r['latency_ms_p99']} ms" for _, r in sorted(sizes, key=lambda kv: kv[1]["batch_size"]))
            + f"; the default ({b.get('batch_size') or 'the backend'}'s batch): {b['requests_per_second']} requests/s, p99 "
            f"{b['latency_ms_p99']} ms.")
    out.append(f"The bar is not met here. At {n} requests in flight, Little's law makes the mean latency {n} / throughput: "
               f"{1000 * n / b['requests_per_second']:.0f} ms at {b['requests_per_second']} requests/s. A p99 under 150 ms needs more than "
               f"{n / 0.15:.0f} requests/s even with no spread, {n / 0.15 / ordered:.0%} of the best this model does on these two cores, which the "
               "client and the HTTP server share with it.")
    return " ".join(out)


def stream_table() -> str:
    """``topicfit predict`` on a long input (``benchmarks/results/stream-predict.json``): its peak memory."""
    found = results("stream-predict.json")
    if not found:
        return "(not measured yet: python benchmarks/stream_predict.py RUN)"
    r = found[0]
    out = [f"{made_by(r)} The measured process: `{r['measured_command']}` on `{r['run']}` ({r['method']}).", "",
           "| way | lines | input MB | seconds | peak RSS MB | records written | records/s |", "|---|---:|---:|---:|---:|---:|---:|",
           f"| streamed (`topicfit predict`) | {r['lines']} | {r['input_mb']} | {r['seconds']} | {r['peak_rss_mb']} | {r['records_written']} | "
           f"{r['records_per_second']} |"]
    m = r.get("in_memory")
    if m:
        out.append(f"| in memory (read all, predict all, write) | {r['lines']} | {r['input_mb']} | {m['seconds']} | {m['peak_rss_mb']} | "
                   f"{m['records_written']} | {m['records_per_second']} |")
    return "\n".join(out)


def tune_table() -> str:
    files = sorted((ROOT / "results").glob("tune-*.json"))
    if not files:
        return "(not measured yet: python benchmarks/tune.py)"
    out = ["| task | target | trials (pruned) | validation macro-F1: defaults | best | gain | best test accuracy | best test macro-F1 | search s | date | machine |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for path in files:
        r = json.loads(path.read_text())
        out.append(f"| {r['task']} | {r['target']}{' (quick)' if r['quick'] else ''} | {r['trials']} ({r['pruned']}) | "
                   f"{fmt(r['default_validation_macro_f1'])} | {fmt(r['best_validation_macro_f1'])} | {fmt(r['gain_over_defaults'])} | "
                   f"{fmt(r['best_test']['accuracy'])} | {fmt(r['best_test']['macro_f1'])} | {fmt(r['search_seconds'], 0)} | {r['date']} | "
                   f"{r['machine']['cores']} cores, {r['machine']['cpu']} |")
    out += ["", "Commands:", ""] + [f"- `{json.loads(p.read_text())['command']}`" for p in files]
    out += ["", "Best settings: " + "; ".join(f"{json.loads(p.read_text())['target']}: `{json.dumps(json.loads(p.read_text())['best_params'])}`" for p in files)]
    return "\n".join(out)


def retrain_table() -> str:
    files = sorted((ROOT / "results").glob("retrain-*.json"))
    if not files:
        return "(not measured yet: python benchmarks/retrain.py TUNE_DIR --max-length 256)"
    out = ["| task | run | validation accuracy | validation macro-F1 | test accuracy | test macro-F1 | test weighted-F1 | date | machine |",
           "|---|---|---:|---:|---:|---:|---:|---|---|"]
    shown = set()
    for path in files:
        r = json.loads(path.read_text())
        for name, row in ((f"{r['target']} tuned{' (quick)' if r['quick'] else ''}", r["tuned"]),
                          (f"{r['target']} tuned, then `{' '.join(r['overrides'])}`", r["retrained"])):
            if (r["task"], row["run"]) in shown:
                continue  # the tune's own retrain, listed once
            shown.add((r["task"], row["run"]))
            v, t = row["validation"], row["test"]
            out.append(f"| {r['task']} | {name} | {fmt(v['accuracy'])} | {fmt(v['macro_f1'])} | {fmt(t['accuracy'])} | {fmt(t['macro_f1'])} | "
                       f"{fmt(t['weighted_f1'])} | {r['date']} | {r['machine']['cores']} cores, {r['machine']['cpu']} |")
    out += ["", "Commands:", ""] + [f"- `{json.loads(p.read_text())['command']}`" for p in files]
    return "\n".join(out)


def fast_system_table() -> str:
    return each_result("fast-system-*.json", "python benchmarks/fast_system.py", fast_system_lines)


def fast_system_lines(r: dict) -> list[str]:
    out = [f"**{r['scheme']}** ({r['docs']} test posts timed; accuracy on the whole test split): {made_by(r)} "
            f"The system: `{r['system_command']}` (the pair with the best validation macro-F1; with each student: "
            + ", ".join(f"{k} {fmt(v)}" for k, v in r["validation_macro_f1"].items()) + f"); `{r['export_command']}` took {r['export_seconds']:.0f} s.", "",
            "| model | backend | docs/s | latency p50 ms | p99 ms | test accuracy | macro-F1 | weighted-F1 |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        out.append(f"| {row['model']} | {row['backend']} | {fmt(row['docs_per_second'], 1)} | {fmt(row['latency_ms_p50'], 1)} | "
                   f"{fmt(row['latency_ms_p99'], 1)} | {fmt(row['test_accuracy'])} | {fmt(row['test_macro_f1'])} | {fmt(row['test_weighted_f1'])} |")
    out.append("")
    return out


def single_model_table() -> str:
    return each_result("single-model-*.json", "python benchmarks/single_model.py", single_model_lines)


def single_model_lines(r: dict) -> list[str]:
    bar = r["best_tfidf"]
    out = [f"**{r['scheme']}** ({r['docs']} test posts timed; accuracy on the whole test split, by the backend named): {made_by(r)} "
            f"The best TF-IDF baseline on test: {bar['method']}, accuracy {fmt(bar['test_accuracy'])}, macro-F1 {fmt(bar['test_macro_f1'])}.", "",
            "| run | method | backend (runs on) | docs/s | latency p50 ms | p99 ms | test accuracy | macro-F1 | weighted-F1 | validation macro-F1 |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        out.append(f"| {row['run']} | {row['method']} | {row['backend']} ({row['runs_on']}) | {fmt(row['docs_per_second'], 1)} | "
                   f"{fmt(row['latency_ms_p50'], 1)} | {fmt(row['latency_ms_p99'], 1)} | {fmt(row['test_accuracy'])} | "
                   f"{fmt(row['test_macro_f1'])} | {fmt(row['test_weighted_f1'])} | {fmt(row['validation_macro_f1'])} |")
    served = [row for row in r["rows"] if row["backend"] == "auto"]
    out += ["", "Served (`auto`), as a share of the first run's throughput: "
            + ", ".join(f"{row['run']} {100 * row['docs_per_second'] / served[0]['docs_per_second']:.0f}%" for row in served[1:]) + ".", ""]
    return out


def prior_parts_table() -> str:
    found = results("prior-parts.json")
    if not found:
        return "(not measured yet: python benchmarks/prior_parts.py)"
    r = found[0]
    parts = list(r["rows"][0]["test"])
    out = [made_by(r), "", "Accuracy / macro-F1.", "", "| run | prior dropout | split | " + " | ".join(parts) + " |",
           "|---|---:|---|" + "---:|" * len(parts)]
    for row in r["rows"]:
        for split in ("validation", "test"):
            out.append(f"| `{row['run']}` | {row['prior_dropout']} | {split} | "
                       + " | ".join(f"{fmt(row[split][p]['accuracy'])} / {fmt(row[split][p]['macro_f1'])}" for p in parts) + " |")
    return "\n".join(out)


def _accuracy_rows(scheme: str) -> list[dict]:
    """The current (not archived) accuracy rows of one scheme."""
    return [r for r in accuracy_results() if r["task"] == f"20newsgroups-{scheme}" and not archived(r)]


KEPT_FLAGS = ("--labels", "--method", "--model", "--student", "--prior", "--budget")


def short_command(cmd: str, longest: int = 120) -> str:
    """A command over ``longest`` characters in short: the subcommand, its runs counted, the flags that say what it
    is (``KEPT_FLAGS``), then "..."; e.g. ``topicfit ensemble <11 runs> --labels coarse ...``. The full command is in
    the family section."""
    if len(cmd) <= longest:
        return cmd
    words = shlex.split(cmd)
    i = 1
    while i < len(words) and words[i].startswith("-"):  # topicfit's own flags (-q)
        i += 1
    out, rest, j = [words[0], *words[i : i + 1]], words[i + 1 :], 0
    runs = []
    while j < len(rest) and not rest[j].startswith("--"):
        runs.append(rest[j])
        j += 1
    out += [f"<{len(runs)} runs>"] if len(runs) > 1 else runs
    while j < len(rest):
        value = rest[j + 1] if j + 1 < len(rest) and not rest[j + 1].startswith("--") else None
        if rest[j] in KEPT_FLAGS:
            out += [rest[j]] + ([value] if value is not None else [])
        j += 1 if value is None else 2
    return " ".join(out) + " ..."


def _cell(accuracy, macro_f1, weighted_f1=None) -> str:
    return f"{fmt(accuracy)} / {fmt(macro_f1)}" + (f" / {fmt(weighted_f1)}" if weighted_f1 is not None else "")


def headline_rows() -> list[dict]:
    """One row per question a user asks, each cell a measured result (accuracy / macro-F1 / weighted-F1 on the
    bydate test split), chosen by validation macro-F1 where a family has several candidates."""
    rows = []

    def best_by_validation(scheme, keep):
        rows_ = [r for r in _accuracy_rows(scheme) if keep(r["method"]) and (r.get("validation") or {}).get("macro_f1") is not None]
        return max(rows_, key=lambda r: r["validation"]["macro_f1"], default=None)

    def accuracy_cell(r):
        return None if r is None else {"cell": _cell(r["test"]["accuracy"], r["test"]["macro_f1"], r["test"]["weighted_f1"]),
                                       "command": r["command"].replace(" -q", ""), "seconds": r.get("wall_clock_seconds"), "date": r["date"],
                                       "cpu": r["machine"]["cpu"], "method": r["method"]}

    cells = {s: accuracy_cell(best_by_validation(s, lambda m: m.startswith("tfidf-"))) for s in ("coarse", "fine")}
    rows.append({"question": "best TF-IDF baseline (chosen on validation)", **cells})
    cells = {}
    for s in ("coarse", "fine"):
        found = results(f"single-model-{s}.json")
        if found:
            r = found[0]
            x = next(x for x in r["rows"] if "+prior-" in x["method"] and x["backend"] == "auto")
            cells[s] = {"cell": _cell(x["test_accuracy"], x["test_macro_f1"], x["test_weighted_f1"]), "method": x["method"],
                        "command": f"topicfit distill ENSEMBLE --student minilm --prior TFIDF-RUN, then topicfit export RUN --int8",
                        "seconds": None, "date": r["date"], "cpu": r["machine"]["cpu"], "speed": x["docs_per_second"]}
    rows.append({"question": "one fast model: MiniLM over a TF-IDF prior", **cells})
    cells = {s: accuracy_cell(best_by_validation(s, lambda m: m.startswith(("ensemble(", "stack(")))) for s in ("coarse", "fine")}
    rows.append({"question": "best system (the ensemble with the best validation macro-F1)", **cells})
    cells = {}
    for s in ("coarse", "fine"):
        found = results(f"fit-{s}.json")
        if found:
            r = found[0]
            c = r["chosen"]
            cells[s] = {"cell": _cell(c["test_accuracy"], c["test_macro_f1"], c["test_weighted_f1"]), "method": c["method"],
                        "command": r["command"].replace(" --overwrite", ""), "seconds": r["seconds"], "date": r["date"],
                        "cpu": r["machine"]["cpu"], "speed": c.get("docs_per_second")}
    rows.append({"question": f"`topicfit fit` within 20 minutes (chosen on validation; set-up excluded)", **cells})
    for r in ([] if results("few-labels-coarse.json") else results("few-labels.json")):  # superseded by fit against SetFit
        by = {x["method"]: x for x in r["summary"] if x["k"] == 8}
        if "fewlabel-minilm" in by:
            f, t = by["fewlabel-minilm"], by.get("tfidf-svm")
            cell = _cell(f["accuracy_mean"], f["macro_f1_mean"], f["weighted_f1_mean"])
            if t:
                cell += f" (tfidf-svm {t['accuracy_mean']:.4f} / {t['macro_f1_mean']:.4f}; mean of {f['seeds']} seeds, {r['test_posts']} test posts)"
            rows.append({"question": "few labels: 8 per class, SetFit's method (`fewlabel` kind)",
                         "coarse": {"cell": cell, "command": r["command"] + " (the kind topicfit fit adds at <= 64 labels a class)", "seconds": None,
                                    "date": r["date"], "cpu": r["cpu"]}})
    cells = {}
    for scheme in ("coarse", "fine"):  # topicfit fit against SetFit on the same body, the same posts, the same seeds
        for r in results(f"few-labels-{scheme}.json"):
            if not (both := fit_against_setfit(r)):
                continue
            seeds, f, t = both
            cells[scheme] = {"cell": _cell(f["accuracy"], f["macro_f1"], f["weighted_f1"]) + " (SetFit 1.2, same MiniLM: "
                             f"{_cell(t['accuracy'], t['macro_f1'], t['weighted_f1'])}; mean of {len(seeds)} seed{'s' if len(seeds) > 1 else ''}, "
                             f"{r['test_posts']} test posts)", "command": r["command"], "seconds": None, "date": r["date"], "cpu": r["cpu"]}
    if cells:
        rows.append({"question": "few labels: 8 per class, `topicfit fit` against SetFit", **cells})
    found = [r for r in results("topics-minilm.json")]
    if found:
        r = found[0]
        by = {(x["tool"], str(x["n_topics_requested"])): x for x in r["rows"]}
        t, b = by.get(("topicfit", "20")), by.get(("bertopic", "20"))
        if t and b:
            rows.append({"question": "topics against BERTopic, same MiniLM embeddings, 20 topics (NPMI / NMI vs the 20 groups / diversity)",
                         "fine": {"cell": f"{t['npmi']:.3f} / {t['nmi']:.3f} / {t['diversity']:.3f} (BERTopic {b['npmi']:.3f} / {b['nmi']:.3f} / "
                                          f"{b['diversity']:.3f})", "command": "topicfit topics --n-topics 20 --output runs/topics",
                                  "seconds": t.get("seconds"), "date": r["created"][:10], "cpu": r["machine"]["cpu"]}})
    return rows


def fit_summary() -> str:
    """One sentence for the README's first screen: what `topicfit fit` scored on 20 Newsgroups (7 classes) in its
    budget, beside the best TF-IDF baseline of the same run's leaderboard (both chosen on validation)."""
    found = [r for r in results("fit-coarse.json")]
    if not found:
        return "(not measured yet: python benchmarks/fit.py)"
    r = found[0]
    c = r["chosen"]
    base = max((x for x in r["candidates"] if x.get("stage") == "baselines" and x.get("validation_macro_f1") is not None
                and x["name"] not in ("random", "majority")), key=lambda x: x["validation_macro_f1"])
    return (f"On 20 Newsgroups (7 classes) `topicfit fit --budget 20` chose {c['name']} in {r['seconds'] / 60:.1f} minutes on "
            f"{r['machine']['cores']} CPU cores ({r['machine']['cpu']}, {r['date']}): test accuracy {c['test_accuracy']:.3f}, macro-F1 "
            f"{c['test_macro_f1']:.3f}, weighted-F1 {c['test_weighted_f1']:.3f}, against {base['test_accuracy']:.3f} / "
            f"{base['test_macro_f1']:.3f} / {base['test_weighted_f1']:.3f} for its best TF-IDF baseline ({base['name']}).")


def headline_table(notes: bool = True) -> str:
    """The headline: one row per question; with ``notes`` (BENCHMARKS.md) also what fit chose and skipped, the topic
    words' latest scores and the served speeds (the README keeps to the table and links here)."""
    out = ["Test split of 20 Newsgroups bydate (7,532 posts), scored once; every choice made on validation. Cells: accuracy / macro-F1 / "
           "weighted-F1. Time: the command's wall clock on 2 CPU cores.", "",
           "| question | 7 classes | 20 classes | topicfit command | time | CPU, date |", "|---|---|---|---|---|---|"]
    for row in headline_rows():
        cells = [row.get(s) for s in ("coarse", "fine")]
        known = [c for c in cells if c]
        if not known:
            continue
        commands = sorted({short_command(c["command"]) for c in known})
        seconds = " / ".join(f"{c['seconds']:.0f} s" if c.get("seconds") else "n/a" for c in cells if c)
        when = sorted({f"{c['cpu']}, {c['date']}" for c in known})
        out.append(f"| {row['question']} | {cells[0]['cell'] if cells[0] else 'not measured'} | {cells[1]['cell'] if cells[1] else 'not measured'} | "
                   + "<br>".join(f"`{c}`" for c in commands) + f" | {seconds} | {'; '.join(when)} |")
    if not notes:
        return "\n".join(out + ["", "What `topicfit fit` chose and skipped, and served speeds: [BENCHMARKS.md](BENCHMARKS.md)."])
    for r in results("fit-*.json"):
        skipped = [f"{c['name']} ({c['skipped']})" for c in r["candidates"] if c.get("skipped")]
        out += ["", f"`topicfit fit` on {r['scheme']} ({r['date']}, {r['machine']['cpu']}): chose {r['chosen']['name']} in {r['seconds']:.0f} s of "
                    f"{60 * r['budget_minutes']:.0f}" + (f"; skipped: {'; '.join(skipped)}" if skipped else "") + "."]
        if r["scheme"] == "coarse" and r["chosen"]["name"] == "ensemble":
            out[-1] += (" Its frozen-MiniLM member has the SVM head with libsvm's probabilities: that head and its calibration were "
                        "chosen on validation log-loss (`python benchmarks/embed_heads.py`), but the test scores of the variants "
                        "compared were seen too, so this test score is not untouched by the choice.")
    for r in results("topics-minilm-issue21.json"):
        x = next((x for x in r["rows"] if x["tool"] == "topicfit" and str(x["n_topics_requested"]) == "20"), None)
        if x:
            out += ["", f"Topic words since {r['created'][:10]} (`{r['command']}`, its own MiniLM embeddings): at 20 topics NPMI "
                        f"{x['npmi']:.3f}, diversity {x['diversity']:.3f}, NMI {x['nmi']:.3f}; the BERTopic row above was measured on "
                        "earlier embeddings of the same posts."]
    speed = [c for row in headline_rows() for c in (row.get("coarse"), row.get("fine")) if c and c.get("speed")]
    if speed:
        out += ["", "Served docs/s (`--backend auto`, one process): " + "; ".join(
            f"{c['method']}: {c['speed']:.0f}" for c in speed) + "."]
    return "\n".join(out)


SECTIONS = {
    "headline-table": headline_table,
    "headline-short": lambda: headline_table(notes=False),
    "fit-summary": fit_summary,
    # BENCHMARKS.md, by family
    "baselines-table": baselines_table, "validation-table": validation_table, "truncation-table": truncation_table, "cost-table": cost_table,
    "ensembles-table": ensembles_table, "schemes-table": schemes_table, "embed-heads-table": embed_heads_table,
    "distill-table": distill_table, "prior-parts-table": prior_parts_table, "single-model-table": single_model_table,
    "topics-table": topics_table, "few-labels-table": few_labels_table, "few-labels-outside": few_labels_outside, "fewlabel-unlabelled-table": fewlabel_unlabelled_table,
    "active-learning-table": active_learning_table, "suggest-picks-table": suggest_picks_table, "active-shift": active_shift_summary,
    "inference-table": inference_table, "long-documents-table": long_documents_table, "load-table": load_table, "load-summary": load_summary, "stream-table": stream_table,
    "tune-table": tune_table, "retrain-table": retrain_table,
    # benchmarks/ARCHIVE.md
    "archive-accuracy-table": archive_accuracy_table, "fast-system-table": fast_system_table,
}


def main() -> None:
    placed = set()
    for name in OUTPUTS:
        path = ROOT.parent / name
        if not path.exists():
            continue
        text = path.read_text()
        for section, render in SECTIONS.items():
            begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
            if begin in text:
                text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: f"{begin}\n{render()}\n{end}", text, flags=re.S)
                placed.add(section)
        path.write_text(text)
        print(f"rendered {name}")
    for section in SECTIONS:
        if section not in placed:
            print(f"warning: no file has the markers of {section}")


if __name__ == "__main__":
    main()
