"""English subtitles as TTML (Timed Text Markup Language, the W3C's broadcast format), the cues of
pipeline.subtitles. Written with xml.etree rather than pysubs2's TTML writer: that one reads the text
as ASS markup (a transcript's `{...}` would vanish as an override tag, a `\\N` become a line break) and
passes characters XML cannot hold through, making a file no XML parser opens."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pipeline.records import AlignedTranscript
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues
from pipeline.writers.common import timecode, xml_safe

TTML = "http://www.w3.org/ns/ttml"
METADATA = "http://www.w3.org/ns/ttml#metadata"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def render_ttml(aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS) -> str | None:
    cues = subtitle_cues(aligned, rules)
    if not cues:
        return None
    ET.register_namespace("", TTML)
    ET.register_namespace("ttm", METADATA)
    root = ET.Element(f"{{{TTML}}}tt", {XML_LANG: "en"})
    metadata = ET.SubElement(ET.SubElement(root, f"{{{TTML}}}head"), f"{{{TTML}}}metadata")
    ET.SubElement(metadata, f"{{{METADATA}}}title").text = xml_safe(aligned.transcript.name)
    division = ET.SubElement(ET.SubElement(root, f"{{{TTML}}}body"), f"{{{TTML}}}div")
    paragraphs = []
    for cue in cues:
        times = {"begin": timecode(cue.start), "end": timecode(cue.end)}
        paragraphs.append((ET.SubElement(division, f"{{{TTML}}}p", times), cue.lines))
    ET.indent(root)
    for paragraph, lines in paragraphs:  # after indenting, which would pad the lines
        paragraph.text = xml_safe(lines[0])
        for line in lines[1:]:
            ET.SubElement(paragraph, f"{{{TTML}}}br").tail = xml_safe(line)
    # A bare CR would be read back as LF: written as a reference.
    body = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
