"""HTTP API for a finished run: FastAPI app, loaded once, thin over :class:`TopicClassifier`.

    topicfit serve runs/coarse-minilm --port 8000
    curl -s localhost:8000/predict -H 'content-type: application/json' -d '{"texts": ["orbit and launch"], "top_k": 3}'

Endpoints: ``POST /predict``, ``GET /labels``, ``GET /health``, ``GET /`` (a small web page), and the OpenAPI
docs at ``/docs``. Bad requests get a JSON ``{"error": ...}`` with the right status code (400 malformed
JSON or invalid UTF-8, 413 too large, 422 wrong types or limits) and the server stays up.
"""

# no `from __future__ import annotations`: FastAPI must see the request models defined in create_app

import logging
from pathlib import Path

from .predict import MAX_TEXT_CHARS, TopicClassifier

logger = logging.getLogger(__name__)

MAX_TEXTS = 256  # texts in one request
MAX_BODY_BYTES = 4_000_000  # bytes in one request body


def create_app(clf: TopicClassifier, *, max_texts: int = MAX_TEXTS, max_text_chars: int = MAX_TEXT_CHARS,
               max_body_bytes: int = MAX_BODY_BYTES):
    """Build the FastAPI app around a loaded classifier (tests use it with ``TestClient``)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, Field
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

    app = FastAPI(title="topicfit", version=__version__, description=f"Topic classifier: {clf.run.get('method')} on {len(classes)} labels")

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
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
    def predict(req: PredictRequest):
        too_long = [i for i, t in enumerate(req.texts) if len(t) > max_text_chars]
        if too_long:
            return JSONResponse({"error": f"texts {too_long[:10]} are over {max_text_chars} characters"}, status_code=413)
        return {"predictions": clf.predict_records(req.texts, top_k=req.top_k)}

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
          long_documents: str | None = None, **limits) -> None:
    """Load the run once and serve it with uvicorn (loopback only unless ``host`` says otherwise).

    ``limits`` are ``max_texts``, ``max_text_chars`` and ``max_body_bytes`` for :func:`create_app`.
    """
    import uvicorn

    clf = TopicClassifier.load(run_dir, trust=trust, backend=backend, long_documents=long_documents)
    logger.info("serving %s on http://%s:%d", run_dir, host, port)
    uvicorn.run(create_app(clf, **limits), host=host, port=port, log_level="warning")


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
<button id="go">Classify</button>
<p id="topic" role="status"></p><div id="bars"></div>
<script>
const go = document.getElementById('go');
go.onclick = async () => {
  const topic = document.getElementById('topic'), bars = document.getElementById('bars');
  topic.className = ''; bars.innerHTML = '';
  const labels = await (await fetch('labels')).json();
  const res = await fetch('predict', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({texts: [document.getElementById('text').value], top_k: labels.labels.length})});
  const body = await res.json();
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
