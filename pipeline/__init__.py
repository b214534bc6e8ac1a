"""Arabic interview transcripts to aligned, timed, reviewable English."""

__version__ = "0.1.0"
