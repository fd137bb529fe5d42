"""The official openai SDK, unmodified, against /v1/videos: code written for OpenAI's Videos API
runs against videogate by changing only base_url and the key (openai-compat.md)."""
import json
import struct
import threading
import time
import urllib.request
import zlib

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types import Video

# The SDK marks its Videos API deprecated (OpenAI shut its own service down); the calls still work.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WAIT_SECONDS = 60


def png(width=4, height=3):
    """A small valid PNG, made here: signature, IHDR, one IDAT of red pixels, IEND."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def bounded(call, seconds=WAIT_SECONDS):
    """Runs a call that waits on the server (create_and_poll, poll) for at most `seconds`."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the call did not return within {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def native_job(base_url, key, video_id):
    """The same job through our own API, GET /v1/video/{id}."""
    request = urllib.request.Request(f"{base_url}/v1/video/{video_id}", headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def client(account, base_url):
    return OpenAI(base_url=base_url + "/v1", api_key=account.key, timeout=30)


def test_create_retrieve_poll_and_download_video_and_thumbnail(client, account, base_url):
    video = client.videos.create(model="sora-2", prompt="a red fox in snow", seconds="4", size="1280x720")
    assert video.object == "video"
    assert video.status == "queued"
    assert (video.model, video.seconds, video.size, video.progress) == ("sora-2", "4", "1280x720", 0)
    assert isinstance(video.created_at, int) and video.completed_at is None and video.error is None

    raw = client.videos.with_raw_response.retrieve(video.id)
    assert int(raw.headers["openai-poll-after-ms"]) > 0
    assert raw.parse().id == video.id

    done = bounded(lambda: client.videos.poll(video.id))
    assert done.status == "completed" and done.progress == 100
    assert isinstance(done.completed_at, int) and done.expires_at > done.completed_at

    mp4 = client.videos.download_content(video.id)
    assert mp4.content[4:8] == b"ftyp"
    assert client.videos.download_content(video.id, variant="video").content == mp4.content
    thumbnail = client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.content[:2] == b"\xff\xd8"

    job = native_job(base_url, account.key, video.id)
    assert job["status"] == "completed" and job["aspect_ratio"] == "16:9" and job["credits_used"] == 3500


# 300x300: Kling's documented minimum start image (smaller ones get 400 invalid_image).
@pytest.mark.parametrize("reference", [png(300, 300), ("start.png", png(300, 300), "image/png")], ids=["raw-bytes", "named-file"])
def test_create_with_an_uploaded_image_is_image_to_video(client, account, base_url, reference):
    video = bounded(
        lambda: client.videos.create_and_poll(
            model="kling-v2.5-turbo-pro-i2v", prompt="the fox starts to run", seconds="5", input_reference=reference
        )
    )
    assert video.status == "completed", video.error
    assert video.seconds == "5"
    assert native_job(base_url, account.key, video.id)["mode"] == "image-to-video"


def test_create_and_poll_until_completed(client):
    video = bounded(lambda: client.videos.create_and_poll(model="veo3-fast", prompt="waves at dusk", seconds="4", size="720x1280"))
    assert video.status == "completed"
    assert (video.model, video.size, video.seconds) == ("veo3-fast", "720x1280", "4")


def test_list_auto_paginates(client):
    created = []
    for index in range(5):
        created.append(client.videos.create(model="wan-2.5", prompt=f"clip {index}").id)
        time.sleep(0.005)  # ids are time-ordered to the millisecond

    newest_first = [video.id for video in client.videos.list(limit=2)]
    assert newest_first == list(reversed(created))

    page = client.videos.list(limit=2, order="asc")
    assert len(page.data) == 2 and page.has_more
    assert len(list(page.iter_pages())) == 3
    assert [video.id for video in page] == created

    after = client.videos.list(limit=10, order="asc", after=created[2])
    assert [video.id for video in after.data] == created[3:] and not after.has_more


def test_delete_removes_a_finished_video_and_refuses_an_unfinished_one(client):
    pending = client.videos.create(model="sora-2", prompt="still rendering")
    with pytest.raises(openai.ConflictError) as refused:
        client.videos.delete(pending.id)
    assert refused.value.code == "video_not_finished"

    done = bounded(lambda: client.videos.create_and_poll(model="sora-2", prompt="to be deleted"))
    deleted = client.videos.delete(done.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (done.id, "video.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(done.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(done.id)
    assert done.id not in [video.id for video in client.videos.list(limit=100)]
    bounded(lambda: client.videos.poll(pending.id))


def test_errors_raise_the_sdks_exception_classes(client, base_url):
    bad = OpenAI(base_url=base_url + "/v1", api_key="vg_test_" + "x" * 40, timeout=30)
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        bad.videos.list()
    assert (unauthorized.value.code, unauthorized.value.type) == ("invalid_api_key", "authentication_error")

    # An unknown model is a malformed request (400 invalid_model), as on /v1/video.
    with pytest.raises(openai.BadRequestError) as unknown:
        client.videos.create(model="sora-9", prompt="p")
    assert (unknown.value.code, unknown.value.param, unknown.value.type) == ("invalid_model", "model", "invalid_request_error")

    with pytest.raises(openai.BadRequestError) as duration:
        client.videos.create(model="sora-2", prompt="p", seconds="5")
    assert (duration.value.code, duration.value.param) == ("invalid_duration", "seconds")

    with pytest.raises(openai.NotFoundError) as missing:
        client.videos.retrieve("req_01JD0000000000000000000000")
    assert missing.value.code == "not_found"

    video = bounded(lambda: client.videos.create_and_poll(model="sora-2", prompt="p"))
    with pytest.raises(openai.NotFoundError) as spritesheet:
        client.videos.download_content(video.id, variant="spritesheet")
    assert spritesheet.value.param == "variant"


def test_a_failed_render_is_a_failed_video_with_its_error(client):
    video = bounded(lambda: client.videos.create_and_poll(model="sora-2", prompt="[sandbox:policy] refused"))
    assert video.status == "failed"
    assert video.error.code == "content_policy_violation" and video.error.message


def test_cancel_a_queued_video_through_the_sdks_generic_post(client, account, base_url):
    """The SDK has no videos.cancel: its generic post reaches POST /v1/videos/{id}/cancel and parses
    the video; a refusal raises ConflictError at once (x-should-retry: false), not after retries."""
    queue = [client.videos.create(model="sora-2", prompt=f"queued {n}") for n in range(4)]
    newest = queue[-1]
    cancelled = client.post(f"/videos/{newest.id}/cancel", cast_to=Video)
    assert (cancelled.id, cancelled.status) == (newest.id, "failed")
    assert cancelled.error.code == "cancelled" and isinstance(cancelled.completed_at, int)
    assert client.post(f"/videos/{newest.id}/cancel", cast_to=Video).status == "failed"
    assert native_job(base_url, account.key, newest.id)["credits_used"] == 0

    done = bounded(lambda: client.videos.poll(queue[0].id))
    assert done.status == "completed"
    sent = []
    counting = OpenAI(
        base_url=base_url + "/v1", api_key=account.key, timeout=30,
        http_client=httpx2.Client(event_hooks={"request": [sent.append]}),
    )
    with pytest.raises(openai.ConflictError) as refused:
        counting.post(f"/videos/{done.id}/cancel", cast_to=Video)
    assert refused.value.code == "not_cancellable" and len(sent) == 1
    for video in queue[1:-1]:
        bounded(lambda: client.videos.poll(video.id))
