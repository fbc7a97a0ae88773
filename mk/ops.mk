# Operations: the Vagrant rehearsal (Vagrantfile, docs/vagrant.md) and the Vultr instance
# playbook (vultr.yml, tools/vultr_standin, docs/vultr.md). Included by the Makefile, which
# defines VENV and puts the venv first on PATH.

VENV ?= .venv
# A private Vagrant home and state directory: no plugins, no boxes, nothing in the tree.
OPS_VAGRANT_ENV := VAGRANT_HOME=$(CURDIR)/.cache/vagrant/home \
  VAGRANT_DOTFILE_PATH=$(CURDIR)/.cache/vagrant/dotfile VAGRANT_CHECKPOINT_DISABLE=1
VULTR_STANDIN_PORT ?= 8790
VULTR_STANDIN_KEY ?= .cache/vultr-standin/api-key

.PHONY: quickstart-check ops-test vagrant-validate vultr-check vultr-standin vm-host rehearsal-vm rehearsal-vm-down test-vm

# The rehearsal in a KVM virtual machine (docs/vagrant.md). Not part of `make test`.
VM_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -E env PATH=$$PATH)

vm-host: host ## QEMU, libvirt (started when none runs), vagrant-libvirt; probes KVM
	$(VM_SUDO) tools/vm-host-setup.sh

rehearsal-vm: vm-host venv vault ## The rehearsal in a 2 vCPU / 4 GB KVM machine (box rebuilt when its recipe changes)
	$(VM_SUDO) tools/vm-rehearsal.sh up

rehearsal-vm-down: ## Remove the rehearsal's virtual machine
	$(VM_SUDO) tools/vm-rehearsal.sh down

test-vm: venv ## The VM stage: sandbox score, sysctl, firewall, fail2ban, reboot, idempotence (after make rehearsal-vm)
	$(VM_SUDO) env FT_VM_TESTS=1 $(VENV)/bin/pytest -p no:cacheprovider -v tests/vm

quickstart-check: host venv ## The README's production quick start against a fresh container as a new server (two converges)
	$(SUDO) tools/build-image.sh bookworm
	tools/quickstart-check.sh

ops-test: venv ## Vagrantfile validation and vultr.yml against the local Vultr API stand-in
	$(VENV)/bin/pytest -q tests/ops

vagrant-validate: ## vagrant validate, offline, without box or provider plugin
	$(OPS_VAGRANT_ENV) vagrant validate --ignore-provider

vultr-check: venv ## vultr.yml: syntax, lint, and check/create/no-op runs against the stand-in
	ansible-playbook vultr.yml --syntax-check
	yamllint --strict vultr.yml
	ansible-lint vultr.yml
	$(VENV)/bin/pytest -q tests/ops/test_vultr.py tests/ops/test_vultr_standin.py

vultr-standin: venv ## Serve the Vultr API stand-in in the foreground (VULTR_STANDIN_PORT)
	@mkdir -p $(dir $(VULTR_STANDIN_KEY)) && chmod 0700 $(dir $(VULTR_STANDIN_KEY))
	@test -s $(VULTR_STANDIN_KEY) || (umask 077 && $(VENV)/bin/python -c \
	  'import secrets, string; print("".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(36)))' \
	  > $(VULTR_STANDIN_KEY))
	@echo "API key in $(VULTR_STANDIN_KEY); pass -e vultr_api_endpoint=http://127.0.0.1:$(VULTR_STANDIN_PORT)/v2"
	$(VENV)/bin/python -m tools.vultr_standin --port $(VULTR_STANDIN_PORT) --api-key-file $(VULTR_STANDIN_KEY)
