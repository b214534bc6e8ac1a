"""The review page with a recording, in a real browser (Debian's Chromium driven by Playwright): the player
plays a sentence from its start to its end, every control is a named button that works by mouse alone,
every count agrees with what its filter shows, and a recording the browser cannot play is explained
and converted (a stand-in ffmpeg: the real one is not installed here)."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.review import media
from pipeline.review.store import ReviewStore
from pipeline.tools.browser import CHROMIUM_FLAGS, chromium, serving
from tests.review_helpers import aligned, write_fake_ffmpeg, write_tone

pytestmark = pytest.mark.slow  # a real Chromium, and a translation

CHROMIUM = chromium()
ARTIFACTS = Path(__file__).parent / "artifacts"
CUES = [
    "مرحبا بكم في البرنامج.",
    "تحدثنا مع صقر عن الصيد في الصحراء.",
    "كان الجو حارا جدا في ذلك اليوم.",
    "قال إن الصقور تحتاج إلى صبر كبير.",
    "ثم ذهبنا إلى السوق القديم.",
    "اشترينا القهوة والتمر.",
    "شكرا لكم جميعا على الاستماع.",
]

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def write_srt(path: Path, cues: list[str]) -> None:
    """Cue i from 3i + 1 s to 3i + 3 s: two-second sentences with a second between them."""

    def at(seconds: int) -> str:
        return f"00:00:{seconds:02d},000"

    blocks = [f"{i + 1}\n{at(3 * i + 1)} --> {at(3 * i + 3)}\n{text}\n" for i, text in enumerate(cues)]
    path.write_text("\n".join(blocks), encoding="utf-8")


@pytest.fixture(scope="module")
def translated(tmp_path_factory, tiny_model):
    """talk.srt, with talk.wav (a 60 s tone made here) beside it, translated by the tiny model."""
    root = tmp_path_factory.mktemp("player")
    source, out = root / "in", root / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    write_tone(source / "talk.wav", seconds=60)
    arguments = ["translate", str(source / "talk.srt"), "--out", str(out), "--model", str(tiny_model)]
    assert main([*arguments, "--backend", "hf", "--formats", "jsonl"]) == 0
    return out, source


def sentences(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/api/t/talk/sentences") as answer:
        return json.load(answer)["sentences"]


def launch(playwright):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a busy 2-core CI machine is slower than 5 s now and then
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))


def test_play_plays_exactly_the_sentence_from_its_start_to_its_end(translated):
    from playwright.sync_api import expect, sync_playwright

    out, _ = translated
    with serving(out) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/t/talk")
        player = page.locator("audio#player")
        expect(player).to_have_count(1)
        page.wait_for_function(
            "() => document.getElementById('player').readyState >= 1"
        )  # its length is known
        fifth = sentences(url)[4]
        row = page.locator("article.s").nth(4)
        expect(row).to_have_attribute("aria-label", f"Sentence {fifth['index']}, untouched")

        page.fill("#lead-in", "0")
        page.select_option("#speed", "1")
        page.evaluate(
            "() => { const p = document.getElementById('player');"
            " p.addEventListener('playing', () => { window.startedAt = p.currentTime; }, { once: true }); }"
        )
        row.get_by_role("button", name="Play").click()
        page.wait_for_function("() => window.startedAt !== undefined")
        assert abs(page.evaluate("window.startedAt") - fifth["start"]) < 0.1
        expect(row).to_have_class("s current")
        page.wait_for_function("() => document.getElementById('player').paused", timeout=20_000)
        stopped = page.evaluate("document.getElementById('player').currentTime")
        assert fifth["end"] - 0.05 <= stopped <= fifth["end"] + 0.25  # paused at its end, not played on

        # A key plays the selected sentence with the lead-in; slower speeds are one choice away.
        page.fill("#lead-in", "0.5")
        page.select_option("#speed", "0.5")
        assert page.evaluate("document.getElementById('player').playbackRate") == 0.5
        page.locator("article.s").nth(2).locator(".en").click()
        page.keyboard.press("p")
        page.wait_for_function("() => !document.getElementById('player').paused")
        third = sentences(url)[2]
        assert (
            third["start"] - 0.6
            <= page.evaluate("document.getElementById('player').currentTime")
            < third["end"]
        )
        page.keyboard.press("p")  # again: pause
        page.wait_for_function("() => document.getElementById('player').paused")

        # Playing on: the current sentence follows the recording.
        page.select_option("#speed", "1")
        page.locator("article.s").nth(0).locator(".en").click()
        page.keyboard.press("Shift+P")
        expect(page.locator("article.s").nth(1)).to_have_class("s current", timeout=20_000)
        page.evaluate("document.getElementById('player').pause()")
        expect(page.get_by_role("status")).to_contain_text("Playing sentence")
        browser.close()


def test_a_reviewer_works_by_mouse_or_touch_alone_and_every_count_agrees_with_its_filter(translated):
    from playwright.sync_api import expect, sync_playwright

    out, _ = translated
    with serving(out) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(f"{url}/t/talk")
        rows = page.locator("article.s")
        expect(rows).to_have_count(len(CUES))
        for name in ("Play", "Approve", "Needs work", "Edit", "Comment", "History"):
            button = rows.nth(0).get_by_role("button", name=name, exact=True)
            expect(button).to_be_visible()
            assert button.get_attribute("title"), name  # the shortcut is in each tooltip
        expect(page.get_by_role("region", name="How to review")).to_be_visible()  # not a collapsed box

        rows.nth(0).get_by_role("button", name="Approve", exact=True).click()
        expect(rows.nth(0).locator(".status")).to_have_text("approved")
        rows.nth(1).get_by_role("button", name="Needs work", exact=True).click()
        expect(rows.nth(1).locator(".status")).to_have_text("needs-work")
        rows.nth(2).get_by_role("button", name="Edit", exact=True).click()
        rows.nth(2).get_by_role("textbox", name="English").fill("The weather was very hot that day.")
        rows.nth(2).get_by_role("button", name="Save english").click()
        expect(rows.nth(2).locator(".status")).to_have_text("edited")
        expect(rows.nth(2).locator(".en")).to_have_text("The weather was very hot that day.")
        rows.nth(3).get_by_role("button", name="Comment", exact=True).click()
        rows.nth(3).get_by_role("textbox", name="Comment").fill("Check the word for patience.")
        rows.nth(3).get_by_role("button", name="Save comment").click()
        expect(rows.nth(3).locator(".extra")).to_contain_text("Comment: Check the word for patience.")
        rows.nth(3).get_by_role("button", name="History", exact=True).click()
        expect(rows.nth(3).locator(".extra")).to_contain_text("→ Check the word for patience.")
        expect(page.get_by_role("status")).to_contain_text("saved")

        # The edit's flags are those of the reviewer's English; the machine's stay viewable.
        saved = sentences(url)
        assert (
            saved[2]["realigned"] is not None
            and "Machine's flags" in rows.nth(2).locator(".extra").inner_text()
        )

        # Each count is a button showing exactly its sentences, the same numbers as the index page.
        legend = page.locator("#counts button")
        expect(legend).to_have_count(5)
        shown_counts = {}
        for i in range(5):
            button = legend.nth(i)
            number, label = button.inner_text().split(" ", 1)
            button.click()
            expect(page.locator("article.s:visible")).to_have_count(int(number))
            shown_counts[label] = int(number)
        expected_flagged = sum(1 for s in saved if s["status"] != "approved" and s["flags"])
        assert shown_counts["flagged"] == expected_flagged
        assert (shown_counts["approved"], shown_counts["edited"], shown_counts["needs work"]) == (1, 1, 1)

        # Approving a flagged sentence while the flagged filter shows: it leaves the filter at once.
        legend.filter(has_text="flagged").click()
        before = page.locator("article.s:visible").count()
        page.locator("article.s:visible").first.get_by_role("button", name="Approve", exact=True).click()
        expect(page.locator("article.s:visible")).to_have_count(before - 1)
        expect(legend.filter(has_text="flagged")).to_have_text(f"{before - 1} flagged")

        page.goto(f"{url}/")
        cells = page.locator("table.progress tbody td")
        assert cells.nth(5).inner_text() == str(before - 1)  # Flagged, as the page's filter showed
        cells.nth(5).get_by_role("link").click()  # each count opens the page showing those sentences
        expect(page.locator("#filter")).to_have_value("flagged")
        expect(page.locator("article.s:visible")).to_have_count(before - 1)

        # On a touch screen: a tap on a row's button does what a click does.
        phone = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 800})
        touch = phone.new_page()
        touch.goto(f"{url}/t/talk")
        last = touch.locator("article.s").nth(len(CUES) - 1)
        last.get_by_role("button", name="Needs work", exact=True).tap()
        expect(last.locator(".status")).to_have_text("needs-work")
        browser.close()


def test_a_recording_the_browser_cannot_play_is_explained_and_converted_once(
    translated, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    out, source = translated
    odd = source / "odd.mkv"
    odd.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(4000))  # Matroska's magic and nothing playable
    media.register(out, "talk", odd)
    playable = write_tone(tmp_path / "playable.wav", seconds=30)
    fake = write_fake_ffmpeg(tmp_path / "bin", playable)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with serving(out) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/t/talk")
        problem = page.locator("#media-problem")
        expect(problem).to_contain_text("The recording odd.mkv cannot be played")
        expect(page.get_by_role("status")).to_contain_text("cannot be played")
        page.get_by_role("button", name="Convert to a playable file (ffmpeg)").click()
        expect(page.locator("audio#player")).to_have_count(1)  # the page came back with the converted file
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        expect(page.locator("#media-problem")).to_be_hidden()
        browser.close()
    assert media.registered(out, "talk") == (OutputFolder(out).root / "talk" / "talk.media.m4a").resolve()


ENGLISH = [
    "Welcome to the programme.",
    "We talked with Saqr about hunting in the desert.",
    "It was very hot that day.",
    "He said that falcons need a great deal of patience.",
    "Then we went to the old market.",
    "We bought coffee and dates.",
    "Thank you all for listening.",
]


def test_the_page_with_its_player_for_the_readme(tmp_path):
    """The README's picture of the review page with its player (tests/screenshots/review-player.png is
    this, reduced; written under tests/artifacts/). Human English stands in for a model's."""
    from playwright.sync_api import expect, sync_playwright

    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    store = ReviewStore(OutputFolder(out).review_database)
    store.claim("talk", source / "talk.srt")
    store.sync(aligned("talk", list(zip(CUES, ENGLISH, strict=True))))
    media.register(out, "talk", write_tone(source / "talk.wav", seconds=30))
    second = store.sentences("talk")[1]
    store.update("talk", second.id, 0, status="approved")
    with serving(out) as url, sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 640})
        page.goto(f"{url}/t/talk")
        expect(page.locator("article.s")).to_have_count(len(CUES))
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        page.locator("article.s").nth(2).locator(".en").click()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review-player.png"))
        browser.close()
    assert (ARTIFACTS / "review-player.png").stat().st_size > 0
