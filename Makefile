# Shortcuts for scripts/kit.sh (which sets the environment up on first use).
PRESET ?= cpu-demo
.PHONY: setup test reproduce lint
setup:
	bash scripts/kit.sh setup
test:
	bash scripts/kit.sh test
reproduce:
	bash scripts/kit.sh reproduce --preset $(PRESET)
lint:
	bash scripts/kit.sh setup && .venv/bin/python -m ruff check .
