"""Speaker labels at the start of a turn (`Name: text`), in plain text, time-stamped text and Word.

A turn `Label: text` has a speaker label only when `Label` looks like a name and the file uses it as
one. Looks like a name: one to three words, starting with a letter, without digits or sentence
punctuation (`.` `!` `?` `؟` `،` `,` `؛` `;`) except a number at its end (`Speaker 1`, `SPEAKER_00`,
as transcription services number unknown voices), and not an ordinary word that introduces speech or
a notice (`قال لي`, `احترس`, `ملاحظة`, `Note`, ...). Used as one: the same label starts at least two
turns of the file, or labels start most (more than half) of its turns, as in a short dialogue where
each speaker talks once. Otherwise the whole turn, colon included, is text: `احترس: الطريق مغلق` in
an unlabelled transcript is something somebody said.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

# A candidate label: a letter first, no digits (but a number at the end) or sentence punctuation,
# then ':' and a space.
_SPEAKER = re.compile(
    r"^(?P<speaker>[^\W\d_][^\d:：.!?؟،,؛;\n]{0,40}?(?:[ _]?\d{1,3})?)\s*[:：]\s+(?P<text>\S.*)$",
    re.MULTILINE,  # in a turn of several lines, the label and text of its first line
)
_MAX_NAME_WORDS = 3
# Words that start a line of speech or a notice, not a name: speech verbs (قال لي: ...), warnings and
# discourse markers. A label holding any of them (also with و/ف in front: وقال) is text.
NOT_NAMES = frozenset(
    word
    for words in (
        "قال قالت قلت قلنا قالوا قلتم يقول تقول أقول نقول يقولون تقولين قل قولي قولوا",
        "سأل سألت سألني سألته سألوا يسأل أجاب أجابت أجبت رد ردت رددت أضاف أضافت يضيف تضيف أكد أكدت",
        "ذكر ذكرت أوضح أوضحت صرخ صرخت همس همست كتب كتبت يكتب",
        "احترس احترسي احترسوا انتبه انتبهي انتبهوا اسمع اسمعي اسمعوا انظر انظري شوف شوفي خذ خذي",
        "ملاحظة ملحوظة تنبيه تحذير تذكير مثال مثلا يعني أولا ثانيا ثالثا رابعا أخيرا وأخيرا",
        "المهم الخلاصة النتيجة السبب المشكلة الحقيقة الحل الفكرة القصة والله لكن ولكن بس",
        "ثم لي له لها لهم لنا لك لكم",
        "note warning caution attention ps nb example he she they said says asked told",
    )
    for word in words.split()
)


def _label(line: str) -> tuple[str, str] | None:
    """(label, text) when the line starts with something shaped like a speaker's name and a colon."""
    match = _SPEAKER.match(line)
    if match is None:
        return None
    label = " ".join(match.group("speaker").split())
    words = label.split()
    if len(words) > _MAX_NAME_WORDS or any(_ordinary(word) for word in words):
        return None
    return label, match.group("text") + line[match.end() :]


def _ordinary(word: str) -> bool:
    word = word.lower()
    return word in NOT_NAMES or (word[:1] in ("و", "ف") and word[1:] in NOT_NAMES)


def speakers(turns: Sequence[str]) -> list[tuple[str | None, str]]:
    """(speaker, text) for each turn: the label at the start of its first line split off where the
    file uses it as a speaker's name (the rule above), else (None, the turn as written)."""
    labelled = [_label(turn) for turn in turns]  # `.` stops at a line end: the label's line only
    counts = Counter(found[0] for found in labelled if found is not None)
    most_turns = 2 * sum(counts.values()) > len(turns)
    return [
        found if found is not None and (most_turns or counts[found[0]] >= 2) else (None, turn)
        for turn, found in zip(turns, labelled, strict=True)
    ]
