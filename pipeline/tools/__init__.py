"""Developer tools, outside the runtime's import path: the benchmark, the random-model writer (tests,
benchmarks and offline demos) and the headless-browser helper. Nothing in the pipeline imports them;
`python -m pipeline bench|random-model` reach them through `pipeline.tools.commands`."""
