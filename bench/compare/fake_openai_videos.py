"""An instant stand-in for OpenAI's video API, the upstream of LiteLLM in bench/compare.sh.

POST /v1/videos      (multipart/form-data, as LiteLLM sends it, or JSON) -> 200, a queued video object
GET  /v1/videos/{id} -> 200, the same object for that id
GET  /_count         -> 200, how many creates it has answered (the bench checks that LiteLLM relays)

A bare ASGI app on uvicorn (both come with litellm[proxy]): no framework, no body parsing
beyond reading it, so that it answers in microseconds and LiteLLM is what gets measured.
Usage: python fake_openai_videos.py PORT   (listens on 127.0.0.1 only)
"""

import itertools
import json
import sys
import time

import uvicorn

_ids = itertools.count(1)
_creates = 0
_JSON = [(b"content-type", b"application/json")]


def _video(video_id: str) -> bytes:
    return json.dumps(
        {
            "id": video_id,
            "object": "video",
            "model": "sora-2",
            "status": "queued",
            "progress": 0,
            "created_at": int(time.time()),
            "size": "720x1280",
            "seconds": "4",
        }
    ).encode()


async def _drain(receive) -> None:
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)


async def _answer(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    global _creates
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    method, path = scope["method"], scope["path"]
    await _drain(receive)
    if method == "POST" and path == "/v1/videos":
        _creates += 1
        await _answer(send, 200, _video(f"video_{next(_ids):024x}"))
    elif method == "GET" and path.startswith("/v1/videos/") and path.count("/") == 3:
        await _answer(send, 200, _video(path.rsplit("/", 1)[1]))
    elif method == "GET" and path == "/_count":
        await _answer(send, 200, json.dumps({"creates": _creates}).encode())
    else:
        await _answer(send, 404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
