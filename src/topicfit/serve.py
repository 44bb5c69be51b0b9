"""HTTP API for a finished run: FastAPI app, loaded once, thin over :class:`TopicClassifier`.

    topicfit serve runs/coarse-minilm --port 8000
    curl -s localhost:8000/predict -H 'content-type: application/json' -d '{"texts": ["orbit and launch"], "top_k": 3}'

Endpoints: ``POST /predict``, ``GET /labels``, ``GET /health``, ``GET /`` (a small web page), and the OpenAPI
docs at ``/docs``. Bad requests get a JSON ``{"error": ...}`` with the right status code (400 malformed
JSON or invalid UTF-8, 413 too large, 422 wrong types or limits) and the server stays up.

Batching: concurrent ``/predict`` requests are gathered for up to ``batch_wait_ms`` (or until ``max_batch`` texts)
and predicted in one call, in a worker thread, so the event loop stays free; each request gets its own answer.
``batch_wait_ms=0`` predicts each request on its own.

Access: with an API key (``api_key=``, or ``$TOPICFIT_API_KEY`` for :func:`serve`), every path but the open ones
(:data:`OPEN_PATHS`: the page, ``/health``, ``/labels`` and the API docs, none of which runs the model or sees a
user's text) needs ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; else 401 with a JSON error. The page asks
for the key once and keeps it in the tab's ``sessionStorage``; ``http://host:port/#key=KEY`` hands it over too.
"""

# no `from __future__ import annotations`: FastAPI must see the request models defined in create_app

import asyncio
import hmac
import logging
import os
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from .errors import ConfigError
from .predict import MAX_TEXT_CHARS, TopicClassifier

logger = logging.getLogger(__name__)

MAX_TEXTS = 256  # texts in one request
MAX_BODY_BYTES = 4_000_000  # bytes in one request body
BATCH_WAIT_MS = 5.0  # how long the first request of a batch waits for others
MAX_BATCH = 64  # texts predicted in one call (a larger request is a batch of its own)
API_KEY_ENV = "TOPICFIT_API_KEY"
OPEN_PATHS = ("/", "/health", "/labels", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc")
_STOP = object()  # tells the batcher's thread to end


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


def create_app(clf: TopicClassifier, *, max_texts: int = MAX_TEXTS, max_text_chars: int = MAX_TEXT_CHARS,
               max_body_bytes: int = MAX_BODY_BYTES, batch_wait_ms: float = BATCH_WAIT_MS, max_batch: int = MAX_BATCH,
               api_key: str | None = None):
    """Build the FastAPI app around a loaded classifier (tests use it with ``TestClient``).

    Args:
        clf (TopicClassifier): the loaded run.
        max_texts, max_text_chars, max_body_bytes (int): request limits (422, 413, 413 above them).
        batch_wait_ms (float, default 5): gather concurrent requests this long into one call (:class:`Batcher`);
            0 predicts each request alone.
        max_batch (int, default 64): texts per batched call.
        api_key (str | None, default None): when set, every path but :data:`OPEN_PATHS` needs it (401 otherwise).
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
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
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return JSONResponse({"error": f"request body over {max_body_bytes} bytes"}, status_code=413)
        if request.method == "POST" and length is None:  # chunked upload: read it and check the size ourselves
            body = await request.body()
            if len(body) > max_body_bytes:
                return JSONResponse({"error": f"request body over {max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "malformed JSON body (or not valid UTF-8); expected {\"texts\": [...], \"top_k\": 3}"}, status_code=400)
        details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg")} for e in errors]
        return JSONResponse({"error": "invalid request; expected {\"texts\": [1 to %d strings], \"top_k\": 1 to %d}" % (max_texts, len(classes)),
                             "details": details}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = str(exc.detail)
        if exc.status_code == 400:  # FastAPI could not decode the body (e.g. bytes that are not UTF-8)
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
          long_documents: str | None = None, api_key: str | None = None, **options) -> None:
    """Load the run once and serve it with uvicorn (loopback only unless ``host`` says otherwise).

    ``api_key`` defaults to ``$TOPICFIT_API_KEY`` (unset or empty: no key). ``options`` are ``max_texts``,
    ``max_text_chars``, ``max_body_bytes``, ``batch_wait_ms`` and ``max_batch`` for :func:`create_app`.
    """
    import uvicorn

    api_key = api_key or os.environ.get(API_KEY_ENV) or None
    clf = TopicClassifier.load(run_dir, trust=trust, backend=backend, long_documents=long_documents)
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
 textarea{width:100%;height:10rem;font:inherit;padding:.5rem;box-sizing:border-box}
 button{margin:.5rem 0;padding:.4rem 1.2rem;font:inherit}
 .row{display:flex;align-items:center;margin:.2rem 0} .name{width:12rem;overflow:hidden;text-overflow:ellipsis}
 .bar{background:#4a78c2;height:1.1rem;margin-right:.4rem} #topic{font-size:1.4rem;font-weight:600}
 .error{color:#b00}
</style></head><body>
<h1>topicfit</h1>
<p>Paste a text and press <b>Classify</b>.</p>
<textarea id="text" aria-label="text to classify"></textarea><br>
<p id="keyrow" hidden><label>API key <input id="key" type="password" autocomplete="off"></label></p>
<button id="go">Classify</button>
<p id="topic" role="status"></p><div id="bars"></div>
<script>
// the API key, when the server has one: typed in once (or given as #key=... in the address), kept for this tab only
const KEY = 'topicfit-api-key', given = new URLSearchParams(location.hash.slice(1)).get('key');
if (given) { sessionStorage.setItem(KEY, given); history.replaceState(null, '', location.pathname + location.search); }
const go = document.getElementById('go');
go.onclick = async () => {
  const topic = document.getElementById('topic'), bars = document.getElementById('bars'), key = document.getElementById('key');
  topic.className = ''; bars.innerHTML = '';
  if (key.value) { sessionStorage.setItem(KEY, key.value); key.value = ''; }
  const headers = {'content-type': 'application/json'};
  if (sessionStorage.getItem(KEY)) headers['authorization'] = 'Bearer ' + sessionStorage.getItem(KEY);
  const labels = await (await fetch('labels')).json();
  const res = await fetch('predict', {method: 'POST', headers,
    body: JSON.stringify({texts: [document.getElementById('text').value], top_k: labels.labels.length})});
  const body = await res.json();
  if (res.status === 401) {
    sessionStorage.removeItem(KEY); document.getElementById('keyrow').hidden = false; key.focus();
    topic.className = 'error'; topic.textContent = 'This server needs an API key: enter it and press Classify again.'; return;
  }
  document.getElementById('keyrow').hidden = true;
  if (!res.ok) { topic.className = 'error'; topic.textContent = body.error || res.statusText; return; }
  const p = body.predictions[0];
  topic.textContent = 'Topic: ' + p.label;
  for (const alt of p.top_k) {
    const row = document.createElement('div'); row.className = 'row';
    const name = document.createElement('span'); name.className = 'name'; name.textContent = alt.label;
    const bar = document.createElement('span'); bar.className = 'bar';
    bar.style.width = ((alt.probability || 0) * 20) + 'rem';
    const val = document.createElement('span'); val.textContent = alt.probability === null ? '' : alt.probability.toFixed(3);
    row.append(name, bar, val); bars.append(row);
  }
};
</script></body></html>
"""
