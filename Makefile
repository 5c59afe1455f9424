# Lifeboat: the two commands of the README, and the steps they are made of.
#   make drill   set up, bring up the lab, run the DR drill (prints PASS/FAIL)
#   make test    set up, lint, build, ansible-test sanity and units, unit tests, integration tests on the lab, molecule
#   make test-fresh  forget everything the machine kept from earlier runs (lab/fresh.sh), then make test
#   make bench   set up, then bench/run.py (BENCH_ARGS="--size-gb 5 --repeat 5" to change it)
#   make bench-failover  set up, lab up, then bench/failover.py (Lifeboat against Patroni and Sentinel)
#   make bench-rebuild   set up, lab up, then bench/rebuild.py (rebuild.yml with 1 GB of PostgreSQL data)
# Both are safe to run again: set-up steps check before they act.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
PLAYBOOK := $(BIN)/ansible-playbook

.PHONY: drill test test-fresh bench bench-failover bench-rebuild bench-down setup venv lab-up lab-down lint build sanity unit integration molecule clean

drill: setup lab-up
	rm -f .lab/drill/*-summary.*
	$(PLAYBOOK) playbooks/drill.yml; status=$$?; cat .lab/drill/*-summary.txt 2>/dev/null; exit $$status

# setup, lint, build, sanity, unit, integration, molecule (lab/test-suite.sh): the lab images are built
# while lint and the unit tests run, and each step's time is printed at the end. No lab-up step: the
# integration tests' session fixture runs lab_up.yml itself (once, not twice).
test:
	lab/test-suite.sh

# As a newcomer or CI runs it: images, containers, venv, caches and stand-ins gone first.
test-fresh:
	lab/fresh.sh
	@start=$$(date +%s); $(MAKE) test; status=$$?; \
	  echo "make test on a fresh machine: $$(( $$(date +%s) - start )) s, exit $$status"; exit $$status

# A measurement, not a test: figures go to bench/results/<date>.{json,md}.
bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Failover side by side: Lifeboat's failover.yml on the lab, Patroni 3 with etcd and Redis Sentinel on
# three more lab containers; figures go to bench/results/<date>-failover.{json,md}.
bench-failover: setup lab-up
	$(BIN)/python bench/failover.py $(BENCH_ARGS)

# A lost server rebuilt onto the blank host with 1 GB of PostgreSQL data (bench/rebuild.py);
# figures go to bench/results/<date>-rebuild.{json,md}.
bench-rebuild: setup lab-up
	$(BIN)/python bench/rebuild.py $(BENCH_ARGS)

# The benchmark's containers only (the lab's own stay).
bench-down:
	docker rm -f lifeboat-lab-benchdb $$(seq -f 'lifeboat-lab-fleet%02g' 1 10) \
	  lifeboat-lab-benchpg1 lifeboat-lab-benchpg2 lifeboat-lab-benchdcs >/dev/null 2>&1 || true

setup:
	lab/setup.sh all

venv:
	lab/setup.sh venv

lab-up:
	$(PLAYBOOK) playbooks/lab_up.yml

lab-down:
	$(PLAYBOOK) playbooks/lab_down.yml

lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint

# The collection must build without lab, bench, inventory or dev files, install into a
# clean path, and work from there, outside this working copy: ansible-doc for every
# module, every shipped playbook's --syntax-check by FQCN (lab/check-build.sh).
build: venv
	lab/check-build.sh $(BIN)

# ansible-test sanity and units on the built collection, with their own venv and
# ansible-test's pinned tool versions (lab/sanity.sh; everything under .lab/sanity).
sanity:
	lab/sanity.sh

unit: venv
	$(BIN)/pytest tests/unit tests/controller

integration:
	$(BIN)/pytest --durations=30 tests/integration

# The scenarios run on the lab's base image, whose tag lab/setup.sh records.
molecule:
	set -a && . .lab/images.env && set +a && $(BIN)/molecule test --all

clean: lab-down
	rm -rf .lab/drill
