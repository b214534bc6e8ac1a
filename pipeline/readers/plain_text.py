"""Plain text: one segment per line, with a speaker label when the file has them (Arabic names too).

A line `Label: text` has a speaker label only when `Label` looks like a name and the file uses it as
one. Looks like a name: one to three words, starting with a letter, without digits or sentence
punctuation (`.` `!` `?` `؟` `،` `,` `؛` `;`), and not an ordinary word that introduces speech or a
notice (`قال لي`, `احترس`, `ملاحظة`, `Note`, ...). Used as one: the same label starts at least two
lines of the file, or labels start most (more than half) of its lines, as in a short dialogue where
each speaker talks once. Otherwise the whole line, colon included, is text: `احترس: الطريق مغلق` in
an unlabelled transcript is something somebody said.
"""

from __future__ import annotations

import re
from collections import Counter

from pipeline.readers.common import strip_markup
from pipeline.records import Segment

# A candidate label: a letter first, no digits or sentence punctuation, then ':' and a space.
_SPEAKER = re.compile(r"^(?P<speaker>[^\W\d_][^\d:：.!?؟،,؛;\n]{0,40}?)\s*[:：]\s+(?P<text>\S.*)$")
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
    return label, match.group("text")


def _ordinary(word: str) -> bool:
    word = word.lower()
    return word in NOT_NAMES or (word[:1] in ("و", "ف") and word[1:] in NOT_NAMES)


def read_plain_text(text: str, path: str) -> list[Segment]:
    lines = [(number, line.strip()) for number, line in enumerate(text.split("\n"), start=1)]
    lines = [(number, line) for number, line in lines if line]
    labelled = {number: _label(line) for number, line in lines}
    counts = Counter(found[0] for found in labelled.values() if found is not None)
    most_lines = 2 * sum(counts.values()) > len(lines)
    segments = []
    for number, line in lines:
        speaker = None
        found = labelled[number]
        if found is not None and (most_lines or counts[found[0]] >= 2):
            speaker, line = found
        segments.append(Segment(id=str(number), text=strip_markup(line), speaker=speaker, line=number))
    return segments
