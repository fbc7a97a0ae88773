"""The README's production quick start, up to the first run: an inventory copied from
inventories/example, its vault made by tools/new-vault.sh, the values only the user has
filled in. The real site.yml must then get past validation (the host does not exist, so it
ends UNREACHABLE); before they are filled in, validation names what is missing and nothing
that the script generated."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from inventory_run import ROOT, absent_host, per_host, play

VAULT_CMD = ROOT / ".venv" / "bin" / "ansible-vault"
GENERATED = (
    "vault_api_server_password",
    "vault_api_server_jwt_secret",
    "vault_api_server_ws_token",
    "vault_backup_restic_password",
)
USERS_OWN = (
    "vault_exchange_api_key",
    "vault_exchange_api_secret",
    "vault_telegram_token",
    "vault_telegram_chat_id",
)


def new_vault(inventory: Path, password: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_VAULT_PASSWORD_FILE": str(password),
        "PATH": f"{VAULT_CMD.parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        [str(ROOT / "tools" / "new-vault.sh"), str(inventory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def vault_cmd(action: str, path: Path, password: Path, stdin: str | None = None) -> str:
    return subprocess.run(
        [str(VAULT_CMD), action, "--vault-password-file", str(password), str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(workdir, inventory, password file): steps 1 and 2 of the quick start."""
    work = tmp_path_factory.mktemp("quickstart")
    inventory = work / "mine"
    shutil.copytree(ROOT / "inventories" / "example", inventory)
    # The server's address: here a host that does not exist.
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"children": {"bot_hosts": {"hosts": {"seoul-1": absent_host()}}}}})
    )
    # The user's own SSH key, domain and e-mail in place of the example's placeholders.
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@laptop", "-f", str(work / "key")],
        check=True,
    )
    main = inventory / "group_vars" / "all" / "main.yml"
    settings = yaml.safe_load(main.read_text())
    settings["hardening_deploy_authorized_keys"] = [(work / "key.pub").read_text().strip()]
    settings["web_edge_domain"] = "bots.quickstart-check.net"
    settings["web_edge_acme_email"] = "ops@quickstart-check.net"
    main.write_text(yaml.safe_dump(settings))
    password = work / "vault-pass"
    password.write_text(secrets.token_urlsafe(24) + "\n")
    password.chmod(0o600)
    made = new_vault(inventory, password)
    assert made.returncode == 0, made.stdout + made.stderr
    return work, inventory, password


def vault_of(inventory: Path) -> Path:
    return inventory / "group_vars" / "all" / "vault.yml"


def test_vault_is_encrypted_private_and_random(made):
    _work, inventory, password = made
    path = vault_of(inventory)
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert path.stat().st_mode & 0o777 == 0o600
    values = yaml.safe_load(vault_cmd("view", path, password))
    for key in GENERATED:
        assert len(values[key]) >= 32 and "CHANGE-ME" not in values[key], key
    for key in USERS_OWN:
        assert values[key] == "CHANGE-ME", key
    # No plaintext copy is left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "main.yml",
        "vault.yml",
        "vault.yml.example",
    ]


def test_an_existing_vault_is_never_overwritten(made):
    _work, inventory, password = made
    before = vault_of(inventory).read_bytes()
    again = new_vault(inventory, password)
    assert again.returncode == 2
    assert "exists; not overwriting it" in again.stderr
    assert vault_of(inventory).read_bytes() == before


def test_validation_names_what_the_user_has_to_fill_in(made):
    work, inventory, password = made
    report, _output = play(work, inventory, ["seoul-1"], "--vault-password-file", str(password))
    run = per_host(report)["seoul-1"]
    messages = "\n".join(run.validation)
    assert "vault_telegram_token" in messages and "vault_telegram_chat_id" in messages, messages
    assert not run.later, "a host with placeholders got past validation"
    for key in GENERATED:
        assert key not in messages, f"validation refused the generated {key}:\n{messages}"


def test_filled_in_vault_gets_past_validation(made):
    """Step 2 done: the user's own values in (as `ansible-vault edit` would save them)."""
    work, inventory, password = made
    path = vault_of(inventory)
    text = vault_cmd("view", path, password)
    own = {
        "vault_exchange_api_key": secrets.token_hex(32),
        "vault_exchange_api_secret": secrets.token_hex(32),
        "vault_telegram_token": f"7000000001:{secrets.token_urlsafe(26)}",
        "vault_telegram_chat_id": "123456789",
    }
    for key, value in own.items():
        text, n = re.subn(rf'^{key}: "CHANGE-ME"', f'{key}: "{value}"', text, flags=re.M)
        assert n == 1, key
    filled = work / "filled.yml"
    filled.write_text(text)
    filled.chmod(0o600)
    vault_cmd("encrypt", filled, password)
    shutil.copy(filled, path)
    report, output = play(work, inventory, ["seoul-1"], "--vault-password-file", str(password))
    run = per_host(report)["seoul-1"]
    assert not run.validation, run.validation
    assert any(result.get("unreachable") for result in run.later), run.later
    assert not any(value in output for value in own.values()), "a secret in the run's output"
