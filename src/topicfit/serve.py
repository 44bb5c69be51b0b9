"""HTTP API for a finished run: FastAPI app, loaded once, thin over :class:`TopicClassifier`.

    topicfit serve runs/coarse-minilm --port 8000
    curl -s localhost:8000/predict -H 'content-type: application/json' -d '{"texts": ["orbit and launch"], "top_k": 3}'
    curl -s localhost:8000/predict-file -F file=@posts.csv -o posts.predictions.jsonl

Endpoints: ``POST /predict``, ``POST /predict-file`` (a CSV, JSONL or plain-text upload in, a JSONL file of
predictions out: :func:`topicfit.predict.predict_file`, so one record per input record, as ``topicfit predict``),
``GET /info`` (the model: :func:`model_info`), ``GET /labels``, ``GET /health``, ``GET /`` (a small web page),
and the OpenAPI docs at ``/docs``. Bad requests get a JSON ``{"error": ...}`` with the right status code (400
malformed JSON or invalid UTF-8, 413 too large, 422 wrong types or limits) and the server stays up.

Batching: concurrent ``/predict`` requests are gathered for up to ``batch_wait_ms`` (or until ``max_batch`` texts)
and predicted in one call, in a worker thread, so the event loop stays free; each request gets its own answer.
``batch_wait_ms=0`` predicts each request on its own. An uploaded file is predicted in ``predict``'s own chunks
(1,024 records), in a worker thread of its own.

Access: with an API key (``api_key=``, or ``$TOPICFIT_API_KEY`` for :func:`serve`), every path but the open ones
(:data:`OPEN_PATHS`: the page, ``/health``, ``/labels`` and the API docs, none of which runs the model or sees a
user's text) needs ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; else 401 with a JSON error. ``/info`` is
behind the key too: it holds the run's scores and, for a topics run, words from the training texts. The page asks
for the key once and keeps it in the tab's ``sessionStorage``; ``http://host:port/#key=KEY`` hands it over too.
"""

# no `from __future__ import annotations`: FastAPI must see the request models defined in create_app

import asyncio
import hmac
import importlib.util
import io
import logging
import os
import queue
import re
import threading
import time
from concurrent.futures import Future
from pathlib import Path, PurePosixPath

from .errors import ConfigError
from .predict import INPUT_FORMATS, MAX_TEXT_CHARS, TopicClassifier, guess_format, predict_file
from .runs import METRICS_FILE, TOPICS_FILE, read_json

logger = logging.getLogger(__name__)

MAX_TEXTS = 256  # texts in one request
MAX_BODY_BYTES = 4_000_000  # bytes in one request body
MAX_UPLOAD_BYTES = 32_000_000  # bytes in one /predict-file upload (a longer file: `topicfit predict`, which streams)
BATCH_WAIT_MS = 5.0  # how long the first request of a batch waits for others
MAX_BATCH = 64  # texts predicted in one call (a larger request is a batch of its own)
API_KEY_ENV = "TOPICFIT_API_KEY"
OPEN_PATHS = ("/", "/health", "/labels", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
_STOP = object()  # tells the batcher's thread to end
SCORE_SPLITS = ("validation", "test")  # the splits /info reports scores of
SCORE_KEYS = ("accuracy", "macro_f1", "weighted_f1", "n")
TOPIC_SCORE_KEYS = ("n_topics", "npmi", "diversity", "outlier_share", "nmi", "ari", "v_measure", "majority_accuracy", "n_documents")


class Batcher:
    """Predicts the texts of concurrent requests together: one worker thread, one ``predict_records`` call per batch.

    A batch starts with the oldest waiting request and takes the others that arrive within ``wait_ms`` of it (those
    that queued while the previous batch ran come at once), up to ``max_batch`` texts. The call uses the batch's
    largest ``top_k`` and each request gets its own rows, cut to its own ``top_k``: the same answer it gets alone.

    Args:
        clf (TopicClassifier): the loaded run.
        wait_ms (float, default 5): the longest a request waits for company.
        max_batch (int, default 64): texts per call.

    >>> batcher = Batcher(clf)                                    # doctest: +SKIP
    >>> batcher.submit(["orbit and launch"], top_k=3).result()    # doctest: +SKIP
    [{'label': 'sci', 'probability': 0.93, 'top_k': [...]}]
    """

    def __init__(self, clf: TopicClassifier, *, wait_ms: float = BATCH_WAIT_MS, max_batch: int = MAX_BATCH):
        if wait_ms <= 0 or max_batch < 1:
            raise ConfigError(f"a Batcher needs wait_ms > 0 and max_batch >= 1, got {wait_ms} and {max_batch}")
        self.clf, self.wait, self.max_batch = clf, wait_ms / 1000, max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, texts: list[str], top_k: int = 3) -> Future:
        """Queue one request's texts; the future's result is their ``predict_records`` rows, in order."""
        future: Future = Future()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="topicfit-batcher", daemon=True)
                self._thread.start()
        self._queue.put((time.monotonic(), list(texts), top_k, future))
        return future

    def close(self) -> None:
        """Stop the worker thread once it has answered what is queued (a later ``submit`` starts another)."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join(timeout=30)
                self._thread = None

    def _work(self) -> None:
        held = None  # a request that did not fit in the last batch: it starts the next one
        while True:
            first, held = held or self._queue.get(), None
            if first is _STOP:
                return
            batch, n = [first], len(first[1])
            while n < self.max_batch:
                left = first[0] + self.wait - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP or n + len(item[1]) > self.max_batch:
                    held = item
                    break
                batch.append(item)
                n += len(item[1])
            self._predict(batch)

    def _predict(self, batch: list) -> None:
        batch = [b for b in batch if b[3].set_running_or_notify_cancel()]  # a client that went away is not predicted
        if not batch:
            return
        k = max(b[2] for b in batch)
        try:
            rows = self.clf.predict_records([t for b in batch for t in b[1]], top_k=k)
        except BaseException as exc:  # every request of the batch gets the error (a 500), the thread goes on
            for b in batch:
                b[3].set_exception(exc)
            return
        start = 0
        for _, texts, top_k, future in batch:
            mine = rows[start : start + len(texts)]
            start += len(texts)
            future.set_result(mine if top_k == k else [{**r, "top_k": r["top_k"][:top_k]} for r in mine])


def backend_of(estimator) -> str | None:
    """What runs a loaded model here, in words: an exported runtime's name (``onnx``, ``openvino-int8``, ...),
    ``torch`` and its precision for a transformer on its own weights, a frozen encoder for the kinds that embed,
    else ``scikit-learn``; an ensemble's members joined by ``+``. ``None`` without an estimator."""
    if estimator is None:
        return None
    members = getattr(estimator, "members", None)
    if members:
        return " + ".join(dict.fromkeys(backend_of(getattr(m, "member", m)) for m in members))  # a Relabelled member wraps one
    name = getattr(estimator, "backend", None)
    if isinstance(name, str) and name:
        return name
    if getattr(estimator, "library", None) == "transformers":
        precision = getattr(estimator, "precision_", None)
        return f"torch ({precision})" if precision else "torch"
    if callable(getattr(estimator, "embed", None)):
        return f"frozen encoder {getattr(estimator.config, 'model', '')} (torch or openvino, the faster here)".replace("  ", " ")
    return "scikit-learn"


def model_info(clf: TopicClassifier) -> dict:
    """What the page shows of the served model (``GET /info``), from the run folder and the loaded classifier.

    Returns:
        dict: ``run``, ``method``, ``kind``, ``label_scheme``, ``labels`` (``classes_`` order), ``probabilities``,
        ``backend`` (:func:`backend_of`), ``created``, and ``scores``: ``{split: {"accuracy", "macro_f1",
        "weighted_f1", "n"}}`` for the splits of :data:`SCORE_SPLITS` that ``metrics.json`` holds (none for a topics
        run). A topics run adds ``topics`` (``id``, ``label``, ``words``, ``size``) and ``topic_scores`` (NPMI,
        diversity, and agreement with reference labels where the run had them).

    >>> model_info(TopicClassifier.load("runs/svm"))["scores"]["test"]  # doctest: +SKIP
    {'accuracy': 0.861, 'macro_f1': 0.842, 'weighted_f1': 0.859, 'n': 7532}
    """
    run, run_dir, estimator = dict(clf.run or {}), getattr(clf, "run_dir", None), getattr(clf, "estimator", None)
    metrics = read_json(run_dir / METRICS_FILE) if run_dir is not None and (run_dir / METRICS_FILE).exists() else {}
    scores = {}
    for split in SCORE_SPLITS:
        m = metrics.get(split)
        kept = {k: m[k] for k in SCORE_KEYS if isinstance(m.get(k), (int, float))} if isinstance(m, dict) else {}
        if kept:
            scores[split] = kept
    info = {"run": run.get("name") or (run_dir.name if run_dir is not None else None), "method": run.get("method"),
            "kind": run.get("kind"), "label_scheme": run.get("labels"), "labels": [str(c) for c in clf.classes_],
            "probabilities": bool(clf.has_probabilities), "backend": backend_of(estimator), "created": run.get("created"),
            "scores": scores}
    topics = getattr(estimator, "topics_", None)
    if topics is not None:
        saved = read_json(run_dir / TOPICS_FILE) if run_dir is not None and (run_dir / TOPICS_FILE).exists() else []
        sizes = {t.get("id"): t.get("size") for t in saved}
        info["topics"] = [{**t, "size": sizes.get(t["id"])} for t in topics]
        info["topic_scores"] = {k: metrics[k] for k in TOPIC_SCORE_KEYS if isinstance(metrics.get(k), (int, float))}
    return info


def download_name(upload: str | None) -> str:
    """The file name of an upload's predictions: ``posts.csv`` -> ``posts.predictions.jsonl`` (ASCII letters,
    digits, ``.``, ``_`` and ``-`` only, so it is safe in a ``Content-Disposition`` header and on any disk; a
    folder, ``/`` or Windows' ``\\``, is dropped).

    >>> download_name("mail/posts 2026.csv")
    'posts_2026.predictions.jsonl'
    """
    stem = PurePosixPath((upload or "").replace("\\", "/")).stem
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "upload") + ".predictions.jsonl"


def create_app(clf: TopicClassifier, *, max_texts: int = MAX_TEXTS, max_text_chars: int = MAX_TEXT_CHARS,
               max_body_bytes: int = MAX_BODY_BYTES, batch_wait_ms: float = BATCH_WAIT_MS, max_batch: int = MAX_BATCH,
               api_key: str | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """Build the FastAPI app around a loaded classifier (tests use it with ``TestClient``).

    Args:
        clf (TopicClassifier): the loaded run.
        max_texts, max_text_chars, max_body_bytes (int): request limits (422, 413, 413 above them).
        max_upload_bytes (int, default 32,000,000): the largest ``/predict-file`` request (413 above it); each record
            in the file has ``topicfit predict``'s limits instead of ``max_text_chars`` (an error record above them).
        batch_wait_ms (float, default 5): gather concurrent requests this long into one call (:class:`Batcher`);
            0 predicts each request alone.
        max_batch (int, default 64): texts per batched call.
        api_key (str | None, default None): when set, every path but :data:`OPEN_PATHS` needs it (401 otherwise).
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from pydantic import BaseModel, Field
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from . import __version__

    classes = [str(c) for c in clf.classes_]

    class PredictRequest(BaseModel):
        texts: list[str] = Field(min_length=1, max_length=max_texts, description=f"1 to {max_texts} texts")
        top_k: int = Field(3, ge=1, le=len(classes), description="alternatives to return per text")

    class Alternative(BaseModel):
        label: str
        probability: float | None

    class Prediction(BaseModel):
        label: str
        probability: float | None
        top_k: list[Alternative]

    class PredictResponse(BaseModel):
        predictions: list[Prediction]

    if max_batch < 1 or batch_wait_ms < 0:
        raise ConfigError(f"batching needs batch_wait_ms >= 0 (0: off) and max_batch >= 1, got {batch_wait_ms} and {max_batch}")
    batcher = Batcher(clf, wait_ms=batch_wait_ms, max_batch=max_batch) if batch_wait_ms > 0 else None
    key = api_key.encode("utf-8") if api_key else None
    info = model_info(clf)  # read once: the run folder does not change while it is served
    upload_help = ("expected multipart/form-data with a 'file' part (CSV with a header row, JSONL, or plain text: one record a line) "
                   f"and optional fields 'format' ({', '.join(INPUT_FORMATS)}), 'text_field' (default text) and 'top_k' (default 3)")

    @asynccontextmanager
    async def lifespan(app):
        yield
        if batcher is not None:
            batcher.close()

    app = FastAPI(title="topicfit", version=__version__, description=f"Topic classifier: {clf.run.get('method')} on {len(classes)} labels",
                  lifespan=lifespan)

    def authorized(request: Request) -> bool:
        given = request.headers.get("x-api-key")
        if given is None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            given = token.strip() if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(given.encode("latin-1"), key)  # the header's own bytes (Starlette decodes them as latin-1)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if key is not None and request.url.path not in OPEN_PATHS and not authorized(request):  # before the body is read
            return JSONResponse({"error": "missing or wrong API key; send the header 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        limit, too_large = max_body_bytes, f"request body over {max_body_bytes} bytes"
        if request.url.path == "/predict-file":
            limit, too_large = max_upload_bytes, (f"upload over the limit of {max_upload_bytes:,} bytes (serve --max-upload-bytes); split "
                                                  "the file, or run `topicfit predict RUN FILE`, which streams a file of any length")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse({"error": too_large}, status_code=413)
        if request.method == "POST" and length is None:  # chunked upload: read it and check the size ourselves
            body = await request.body()
            if len(body) > limit:
                return JSONResponse({"error": too_large}, status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "malformed JSON body (or not valid UTF-8); expected {\"texts\": [...], \"top_k\": 3}"}, status_code=400)
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")} for e in errors]
        if request.url.path == "/predict-file":
            return JSONResponse({"error": f"invalid upload; {upload_help}", "details": details}, status_code=422)
        return JSONResponse({"error": "invalid request; expected {\"texts\": [1 to %d strings], \"top_k\": 1 to %d}" % (max_texts, len(classes)),
                             "details": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = str(exc.detail)
        if exc.status_code == 400 and request.url.path == "/predict-file":  # a body that is not multipart form data
            message = f"could not parse the upload ({message}); {upload_help}"
        elif exc.status_code == 400:  # FastAPI could not decode the body (e.g. bytes that are not UTF-8)
            message = "could not parse the request body: malformed JSON or not valid UTF-8; expected {\"texts\": [...], \"top_k\": 3}"
        return JSONResponse({"error": message}, status_code=exc.status_code)

    @app.post("/predict", response_model=PredictResponse)
    async def predict(req: PredictRequest):
        too_long = [i for i, t in enumerate(req.texts) if len(t) > max_text_chars]
        if too_long:
            return JSONResponse({"error": f"texts {too_long[:10]} are over {max_text_chars} characters"}, status_code=413)
        if batcher is None:
            return {"predictions": await run_in_threadpool(clf.predict_records, req.texts, top_k=req.top_k)}
        return {"predictions": await asyncio.wrap_future(batcher.submit(req.texts, req.top_k))}

    if importlib.util.find_spec("python_multipart") is not None:  # FastAPI parses form data with it (the `serve` extra)
        @app.post("/predict-file", response_class=Response, responses={200: {"content": {"application/x-ndjson": {}},
                  "description": "one JSON line per input record, in order: a prediction, or an error record"}})
        async def predict_upload(file: UploadFile = File(description="CSV (header row), JSONL, or plain text (one record a line)"),
                                 fmt: str = Form("auto", alias="format", description=f"one of {INPUT_FORMATS}; auto: from the file's extension"),
                                 text_field: str = Form("text", description="the JSONL field or CSV column holding the text"),
                                 top_k: int = Form(3, ge=1, description="labels listed per record, best first")):
            """Predict every record of an uploaded file, as ``topicfit predict FILE`` does, and answer a JSONL file to download."""
            fmt = guess_format(file.filename) if fmt == "auto" else fmt
            out = io.BytesIO()
            await file.seek(0)
            try:  # predict's own reader and writer: the same records, limits and error records as `topicfit predict`
                done = await run_in_threadpool(predict_file, clf, file.file, out, fmt=fmt, text_field=text_field, top_k=top_k, progress=False)
            except ConfigError as exc:  # a format that does not exist, a CSV header without the text column
                return JSONResponse({"error": f"{exc}; {upload_help}"}, status_code=422)
            finally:
                await file.close()
            logger.info("predict-file %s: %d records (%d errors)", file.filename, done["records"], done["errors"])
            return Response(out.getvalue(), media_type="application/x-ndjson",
                            headers={"content-disposition": f'attachment; filename="{download_name(file.filename)}"',
                                     "x-topicfit-records": str(done["records"]),
                                     "x-topicfit-errors": str(done["errors"])})
    else:
        @app.post("/predict-file")
        async def predict_upload():
            return JSONResponse({"error": "file upload needs python-multipart: pip install 'topicfit[serve]'"}, status_code=501)

    @app.get("/info")
    def get_info():
        return info

    @app.get("/labels")
    def labels():
        return {"labels": classes}

    @app.get("/health")
    def health():
        return {"status": "ok", "model": clf.run.get("method"), "kind": clf.run.get("kind"), "labels": classes,
                "label_scheme": clf.run.get("labels"), "version": __version__}

    @app.get("/", response_class=HTMLResponse)
    def page():
        return PAGE

    return app


def serve(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000, trust: bool = False, backend: str = "auto",
          long_documents: str | None = None, api_key: str | None = None, batch_size: int | None = None, **options) -> None:
    """Load the run once and serve it with uvicorn (loopback only unless ``host`` says otherwise).

    ``api_key`` defaults to ``$TOPICFIT_API_KEY`` (unset or empty: no key). ``options`` are ``max_texts``,
    ``max_text_chars``, ``max_body_bytes``, ``max_upload_bytes``, ``batch_wait_ms`` and ``max_batch`` for :func:`create_app`.
    ``batch_size`` (transformers): texts per forward pass inside a batch, which is sorted by length first, so a
    gathered batch of posts of mixed lengths runs as a few less-padded passes (``None``: the backend's default).
    """
    import uvicorn

    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1 (texts per forward pass), got {batch_size}")
    clf = TopicClassifier.load(run_dir, trust=trust, backend=backend, long_documents=long_documents, batch_size=batch_size)
    app = create_app(clf, api_key=api_key, **options)
    logger.info("serving %s on http://%s:%d (%s; %s)", run_dir, host, port, "API key required" if api_key else "no API key",
                f"batching up to {options.get('max_batch', MAX_BATCH)} texts within {options.get('batch_wait_ms', BATCH_WAIT_MS):g} ms"
                if options.get("batch_wait_ms", BATCH_WAIT_MS) > 0 else "no batching")
    uvicorn.run(app, host=host, port=port, log_level="warning")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>topicfit</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
 h2{font-size:1.15rem;margin:1.6rem 0 .5rem} h3{font-size:1rem;margin:1rem 0 .3rem}
 textarea{width:100%;height:10rem;font:inherit;padding:.5rem;box-sizing:border-box}
 button{margin:.5rem 0;padding:.4rem 1.2rem;font:inherit}
 dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.3rem 0} dt{color:#555} dd{margin:0;overflow-wrap:anywhere}
 .labels{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;padding:0;margin:.3rem 0}
 .labels li{background:#e8eef8;border-radius:.3rem;padding:.1rem .45rem;max-width:100%;box-sizing:border-box;overflow-wrap:anywhere}
 table{border-collapse:collapse;margin:.3rem 0} th{white-space:nowrap} th,td{padding:.15rem .6rem;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}
 td.num{text-align:right;font-variant-numeric:tabular-nums} td.words{overflow-wrap:anywhere}
 .row{display:flex;align-items:flex-start;gap:.4rem;margin:.2rem 0} .name{flex:0 1 14rem;min-width:0;overflow-wrap:anywhere}
 .track{flex:1 1 10rem} .bar{display:block;background:#4a78c2;height:1.1rem} .val{flex:0 0 3.5rem;font-variant-numeric:tabular-nums}
 #topic{font-size:1.4rem;font-weight:600;overflow-wrap:anywhere}
 .error{color:#b00} [hidden]{display:none !important}
</style></head><body>
<h1>topicfit</h1>
<section id="model" aria-label="the model served">
<p id="model-status" role="status">Loading the model's description…</p>
<dl id="facts" hidden>
 <dt>method</dt><dd id="info-method"></dd><dt>kind</dt><dd id="info-kind"></dd>
 <dt>label scheme</dt><dd id="info-scheme"></dd><dt>backend</dt><dd id="info-backend"></dd><dt>run</dt><dd id="info-run"></dd>
</dl>
<div id="labels-box" hidden><h3>Labels</h3><ul id="labels" class="labels"></ul></div>
<div id="scores-box" hidden><h3>Scores</h3><table id="scores"><thead><tr><th>split</th><th>accuracy</th><th>macro-F1</th>
 <th>weighted-F1</th><th>posts</th></tr></thead><tbody></tbody></table></div>
<div id="topics-box" hidden><h3>Topics</h3><p id="topic-scores"></p><table id="topics"><thead><tr><th>topic</th><th>label</th>
 <th>words</th><th>posts</th></tr></thead><tbody></tbody></table></div>
</section>
<p id="keyrow" hidden><label>API key <input id="key" type="password" autocomplete="off"></label></p>
<h2>Classify a text</h2>
<textarea id="text" aria-label="text to classify"></textarea><br>
<button id="go">Classify</button>
<p id="topic" role="status"></p><div id="bars"></div>
<h2>Predict a file</h2>
<p>CSV (a header row with a <code>text</code> column), JSONL (a <code>text</code> field) or plain text (one record a line):
the predictions come back as a JSONL file, one line per record, in order; a record that cannot be read gets an error line.</p>
<input id="file" type="file" aria-label="file to predict" accept=".csv,.jsonl,.json,.txt,text/plain,text/csv,application/json">
<button id="upload">Predict file</button>
<p id="upload-status" role="status"></p><p><a id="download" hidden></a></p>
<script>
// the API key, when the server has one: typed in once (or given as #key=... in the address), kept for this tab only
const KEY = 'topicfit-api-key', given = new URLSearchParams(location.hash.slice(1)).get('key');
if (given) { sessionStorage.setItem(KEY, given); history.replaceState(null, '', location.pathname + location.search); }
const $ = (id) => document.getElementById(id);
let info = null;
function takeKey() { const key = $('key'); if (key.value) { sessionStorage.setItem(KEY, key.value); key.value = ''; } }
function auth(headers) {
  if (sessionStorage.getItem(KEY)) headers['authorization'] = 'Bearer ' + sessionStorage.getItem(KEY);
  return headers;
}
function askKey(where, button) {  // a 401: forget the key (it was wrong) and ask for it
  sessionStorage.removeItem(KEY); $('keyrow').hidden = false; $('key').focus();
  where.className = 'error'; where.textContent = 'This server needs an API key: enter it and press ' + button + ' again.';
}
function cell(row, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; row.append(td); }
function score(x) { return typeof x === 'number' ? x.toFixed(4) : '–'; }
async function loadInfo() {
  const status = $('model-status'), res = await fetch('info', {headers: auth({})});
  if (res.status === 401) {
    sessionStorage.removeItem(KEY); $('keyrow').hidden = false; status.className = 'error';
    status.textContent = 'This server needs an API key: enter it below to see the model and to classify.'; return;
  }
  if (!res.ok) { status.className = 'error'; status.textContent = 'Could not load the model: ' + res.statusText; return; }
  info = await res.json();
  $('keyrow').hidden = true; status.className = ''; status.textContent = 'Serving ' + info.method + ' (' + info.labels.length + ' labels).';
  $('info-method').textContent = info.method; $('info-kind').textContent = info.kind;
  $('info-scheme').textContent = info.label_scheme || '–'; $('info-backend').textContent = info.backend || '–';
  $('info-run').textContent = (info.run || '–') + (info.created ? ', ' + info.created : ''); $('facts').hidden = false;
  $('labels').replaceChildren(...info.labels.map((name) => { const li = document.createElement('li'); li.textContent = name; return li; }));
  $('labels-box').hidden = false;
  const rows = Object.entries(info.scores).map(([split, m]) => {
    const tr = document.createElement('tr'); tr.dataset.split = split; cell(tr, split);
    for (const k of ['accuracy', 'macro_f1', 'weighted_f1']) cell(tr, score(m[k]), 'num');
    cell(tr, m.n === undefined ? '–' : String(m.n), 'num'); return tr;
  });
  $('scores').tBodies[0].replaceChildren(...rows); $('scores-box').hidden = rows.length === 0;
  if (info.topics) {
    const t = info.topic_scores || {};
    $('topic-scores').textContent = [['npmi', 'NPMI'], ['diversity', 'diversity'], ['nmi', 'NMI with the reference labels']]
      .filter(([k]) => typeof t[k] === 'number').map(([k, name]) => name + ' ' + t[k].toFixed(3)).join(' · ');
    $('topics').tBodies[0].replaceChildren(...info.topics.map((topic) => {
      const tr = document.createElement('tr'); cell(tr, String(topic.id), 'num'); cell(tr, topic.label, 'words');
      cell(tr, topic.words.join(', '), 'words'); cell(tr, topic.size === null || topic.size === undefined ? '–' : String(topic.size), 'num');
      return tr;
    }));
    $('topics-box').hidden = false;
  }
}
$('key').addEventListener('keydown', (e) => { if (e.key === 'Enter') { takeKey(); loadInfo(); } });
$('go').onclick = async () => {
  const topic = $('topic'), bars = $('bars');
  topic.className = ''; bars.innerHTML = '';
  takeKey();
  const labels = info ? info.labels : (await (await fetch('labels')).json()).labels;
  const res = await fetch('predict', {method: 'POST', headers: auth({'content-type': 'application/json'}),
    body: JSON.stringify({texts: [$('text').value], top_k: labels.length})});
  const body = await res.json();
  if (res.status === 401) { askKey(topic, 'Classify'); return; }
  $('keyrow').hidden = true;
  if (!info) loadInfo();
  if (!res.ok) { topic.className = 'error'; topic.textContent = body.error || res.statusText; return; }
  const p = body.predictions[0];
  topic.textContent = 'Topic: ' + p.label;
  for (const alt of p.top_k) {
    const row = document.createElement('div'); row.className = 'row';
    const name = document.createElement('span'); name.className = 'name'; name.textContent = alt.label;
    const track = document.createElement('span'), bar = document.createElement('span');
    track.className = 'track'; bar.className = 'bar'; bar.style.width = ((alt.probability || 0) * 100) + '%'; track.append(bar);
    const val = document.createElement('span'); val.className = 'val';
    val.textContent = alt.probability === null ? '' : alt.probability.toFixed(3);
    row.append(name, track, val); bars.append(row);
  }
};
$('upload').onclick = async () => {
  const status = $('upload-status'), file = $('file').files[0], link = $('download');
  status.className = '';
  if (!file) { status.className = 'error'; status.textContent = 'Choose a file first.'; return; }
  takeKey();
  const form = new FormData(); form.append('file', file);
  status.textContent = 'Predicting ' + file.name + '…';
  const res = await fetch('predict-file', {method: 'POST', headers: auth({}), body: form});
  if (res.status === 401) { askKey(status, 'Predict file'); return; }
  $('keyrow').hidden = true;
  if (!info) loadInfo();
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    status.className = 'error'; status.textContent = body.error || res.statusText; return;
  }
  const name = (/filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '') || [])[1] || 'predictions.jsonl';
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await res.blob()); link.download = name; link.textContent = 'Download ' + name; link.hidden = false;
  status.textContent = res.headers.get('x-topicfit-records') + ' records predicted, ' + res.headers.get('x-topicfit-errors') +
    ' of them error records: ' + name;
  link.click();
};
loadInfo();
</script></body></html>
"""
