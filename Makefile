# The two commands: `make book` (install, execute, render HTML) and `make test` (everything).
# Both are idempotent: a second run with nothing changed does (almost) nothing.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HTML := _build/html
BUILT := $(HTML)/.built

CHAPTERS := $(sort $(wildcard book/*.ipynb))
# Each notebook has a MyST Markdown twin (Jupytext pair), the source people read and edit.
SOURCES := $(CHAPTERS:.ipynb=.md)
PAGES := $(filter-out $(SOURCES),$(wildcard book/*.md))
PACKAGE := $(shell find mlmath -name '*.py' 2>/dev/null)
BIBS := $(wildcard book/*.bib book/bib/*.bib)
RESULTS := $(wildcard results/*/*.json)
# Quiz and flashcard decks the chapters render (a change re-executes every chapter)
DECKS := $(wildcard book/quizzes/*.json book/cards/*.json)
# One thread per numerical library: two notebooks or workers share the 2 CPU cores.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install book test check sync execute student student-html assignments cards lab reference experiments bench clean

help:
	@echo "make book         install into .venv, execute every chapter, render $(HTML)/index.html"
	@echo "make test         unit tests, notebooks under nbval, strict full book build"
	@echo "make check        the unit tests alone (no book build, browser, notebooks; about 2 minutes)"
	@echo "make sync         bring each notebook and its MyST twin (book/NN_topic.md) in line"
	@echo "make execute      sync, then re-execute chapters in place (refresh stored outputs for nbval)"
	@echo "make student      student versions of the chapters (no solutions, no solution-only code) in student/"
	@echo "make student-html the book's website without solutions in _build/student-html/ (no execution)"
	@echo "make assignments  otter assign: per assignment, student notebook, autograder zip, solutions (HTML) in _build/assignments/"
	@echo "make cards        export every flashcard deck as CSV (front,back) into book/cards/"
	@echo "make lab          JupyterLab on the chapters"
	@echo "make reference    every reference-tier (CPU, ~20 min each) experiment, results into results/reference/"
	@echo "make experiments  every full-tier (GPU) experiment, results into results/full/"
	@echo "make bench        measured budgets (ratios, Monte Carlo throughput, chapter times) into _build/bench.json"
	@echo "make clean        remove build outputs (keeps .venv)"

install: $(INSTALLED)

$(INSTALLED): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

book: $(BUILT)
	@echo "The book is at file://$(CURDIR)/$(HTML)/index.html"

# Sphinx re-reads only the chapters that changed. A change anywhere else (mlmath, the
# configuration, the bibliography, stored results, the environment) can change any chapter's
# output, so it forces a full re-execution (--all). A failed build leaves no stamp and drops
# the saved environment, so the next build cannot pass by skipping the broken chapter.
$(BUILT): $(INSTALLED) $(CHAPTERS) $(SOURCES) $(PAGES) $(PACKAGE) $(BIBS) $(RESULTS) $(DECKS) _config.yml _toc.yml
	$(BIN)/jupytext --sync --quiet $(CHAPTERS)
	$(BIN)/jupyter-book build . -W --keep-going \
	  $(if $(filter-out $(CHAPTERS) $(SOURCES) $(PAGES),$?),--all,) \
	  || { rm -rf _build/.doctrees $(BUILT); exit 1; }
	touch $@

# Everything: mlmath unit and property tests, every chapter under nbval (fresh kernel,
# outputs compared with the stored ones), and a full strict build of the book into a
# temporary folder (tests/test_book.py), never a reuse of an earlier build.
test: $(INSTALLED)
	$(BIN)/python -m pytest tests $(CHAPTERS) --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout=300 -n 2 --dist loadfile

# The unit tests alone: tests/conftest.py marks the notebooks, the browser test and the slow
# tests (book and assignment builds, benchmarks, subprocess runs), which `make test` also runs.
check: $(INSTALLED)
	$(BIN)/python -m pytest tests -m "not slow and not browser and not notebooks" -n 2

# The newer file of each pair wins: edit book/NN_topic.md, then `make sync` (or `make execute`).
sync: $(INSTALLED)
	$(BIN)/jupytext --sync --quiet $(CHAPTERS)

execute: sync
	$(BIN)/python -m tools.book execute $(CHAPTERS)

# Student chapters: solutions, answer dropdowns and the code that computes only what they quote
# (mlmath.teaching.solution_cells) removed, outputs cleared.
student: $(INSTALLED)
	$(BIN)/python -m tools.teaching student $(CHAPTERS) --out student

# The website without solutions (sphinx-exercise's hide_solutions, the student chapters, the
# stored outputs: no execution), staged in _build/student-html-src/.
student-html: $(INSTALLED)
	$(BIN)/python -m tools.teaching student-html --out _build/student-html

# otter-grader assignments (assignments/partN.ipynb): _build/assignments/partN/student/partN.ipynb to
# hand out, _build/assignments/partN/autograder/partN-autograder_<time>.zip to grade with otter,
# partN-sol.html beside it. PDFS=1 adds otter's solutions PDF (needs: python -m playwright install chromium).
assignments: $(INSTALLED)
	$(BIN)/python -m tools.teaching assign $(sort $(wildcard assignments/part*.ipynb)) --out _build/assignments $(if $(PDFS),--pdfs,)

# Flashcard decks (book/cards/NN_topic.json) as CSV for spaced-repetition apps; the CSVs are committed.
cards: $(INSTALLED)
	$(BIN)/python -m tools.teaching cards --out book/cards

lab: $(INSTALLED)
	$(BIN)/jupyter lab book

experiments: $(INSTALLED)
	$(BIN)/python -m mlmath.experiments run all --tier full --device cuda --jobs 4 --out results

# Every reference-tier experiment on the CPU (about 20 minutes each on 2 cores, two arms at a
# time); results into results/reference/ (--out results: the command's default is the scratch
# folder _build/results/), resumable after an interruption. Commit what it writes.
reference: $(INSTALLED)
	$(BIN)/python -m mlmath.experiments run all --tier reference --device cpu --jobs 2 --out results

# Measured budgets: ratios (2T over T, batched over sequential seeds), Monte Carlo throughput and
# chapter execution times, printed and written to _build/bench.json (tools/bench.py).
bench: $(INSTALLED)
	$(BIN)/python -m tools.bench

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
