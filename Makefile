# Lifeboat: the two commands of the README, and the steps they are made of.
#   make drill   set up, bring up the lab, run the DR drill (prints PASS/FAIL)
#   make test    set up, lint, unit tests, integration tests on the lab, molecule
# Both are safe to run again: set-up steps check before they act.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0
PLAYBOOK := $(BIN)/ansible-playbook

.PHONY: drill test setup venv lab-up lab-down lint unit integration molecule clean

drill: setup lab-up
	rm -f .lab/drill/*-summary.*
	$(PLAYBOOK) playbooks/drill.yml; status=$$?; cat .lab/drill/*-summary.txt 2>/dev/null; exit $$status

test: setup lint unit lab-up integration molecule

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

unit: venv
	$(BIN)/pytest tests/unit

integration:
	$(BIN)/pytest tests/integration

molecule:
	cd $(CURDIR) && $(BIN)/molecule test --all

clean: lab-down
	rm -rf .lab/drill
