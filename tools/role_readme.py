#!/usr/bin/env python3
"""Write each role's README.md from its meta/argument_specs.yml and defaults/main.yml.

    python tools/role_readme.py [--check] [--roles-dir DIR] [ROLE...]   (make role-readmes)

For every role under roles/ (or only the ROLEs named) the README holds the role's
description and entry points, its requirements and dependencies (meta/main.yml), every
variable with its type, default (as written in defaults/main.yml), whether it is required
and its description, the tags of tasks/*.yml, an example playbook and the Molecule scenarios.
A variable of defaults/main.yml that no entry point of the argument specs documents is an
error naming the role and the variables.

Without --check the READMEs that changed are written; exit 1 when a role fails.
With --check nothing is written; exit 1 listing every README that is stale, missing or
cannot be generated (tests/roles/test_role_readmes.py runs the same check).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = "tools/role_readme.py"
# Defaults longer than this are cut (…) in the table; defaults/main.yml has them in full.
MAX_DEFAULT = 100
DEBIAN_RELEASES = {"bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14"}
# Task keywords holding nested task lists.
TASK_LISTS = ("block", "rescue", "always")
PLACEHOLDERS = {"bool": "false", "int": "0", "float": "0.0", "list": "[]", "dict": "{}"}
HTML_START = re.compile(r"<(?=[A-Za-z/!?])")


class RoleError(Exception):
    """A role whose README cannot be generated (the message names the role)."""


# libyaml's parser when PyYAML has it (fast); the pure-Python one for the defaults' nodes,
# whose marks must count characters to slice the defaults as written.
_FastSafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_FastSafeLoader):  # type: ignore[misc]  # Any: C or Python loader, and untyped
    """SafeLoader that reads Ansible's own tags (!unsafe, !vault) as plain values."""


class _NodeLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types: Any
    """Pure-Python SafeLoader: node marks are character offsets into the text."""


def _untagged(loader: yaml.constructor.SafeConstructor, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node, deep=True)


_Loader.add_multi_constructor("!", _untagged)
_NodeLoader.add_multi_constructor("!", _untagged)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass


@dataclass(frozen=True)
class Role:
    """Everything a README is made from, read from the role's files."""

    name: str
    specs: Mapping[str, Any]  # argument_specs: entry point -> spec
    defaults_text: str  # defaults/main.yml as written
    meta: Mapping[str, Any] | None  # meta/main.yml, None when absent
    task_files: Mapping[str, Any]  # tasks/<file>.yml -> its loaded content
    scenarios: Mapping[str, Any]  # Molecule scenario name -> its molecule.yml
    in_site: bool  # site.yml applies the role


# --- defaults ----------------------------------------------------------------------------


def fold(text: str) -> str:
    """A value written over several lines, on one line."""
    return " ".join(text.split()) if "\n" in text else text


def shorten(text: str, limit: int = MAX_DEFAULT) -> str:
    """Cut text longer than limit, at a space when one is near the end, marked by …."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


def inline(value: Any) -> str:
    """One value as flow YAML on one line (quoted where YAML needs it)."""
    dumped: str = yaml.dump(
        [value],
        Dumper=yaml.SafeDumper,
        default_flow_style=True,
        width=10**9,
        sort_keys=False,
        allow_unicode=True,
    )
    return dumped.strip()[1:-1]


def cut_flow(value: Any, limit: int) -> str:
    """Flow YAML of value in at most about limit characters: a list or dict keeps its first
    items (the first one cut in turn when even it is too long) and marks the rest with …."""
    full = inline(value)
    if len(full) <= limit or not isinstance(value, list | dict) or not value:
        return shorten(full, limit)
    if isinstance(value, list):
        opener, closer = "[", "]"
        items = [("", v) for v in value]
    else:
        opener, closer = "{", "}"
        items = [(inline(k) + ": ", v) for k, v in value.items()]
    shown: list[str] = []
    for key, item in items:
        text = key + inline(item)
        if len(opener + ", ".join([*shown, text, "…"]) + closer) <= limit:
            shown.append(text)
            continue
        if not shown:
            room = max(limit - len(opener + key + ", …" + closer), 10)
            shown.append(key + cut_flow(item, room))
        break
    rest = ["…"] if len(shown) < len(items) else []
    return opener + ", ".join([*shown, *rest]) + closer


def show_collection(value: list[Any] | dict[Any, Any], limit: int = MAX_DEFAULT) -> str:
    """A list or dict in flow YAML; when too long, its first items, … and the count."""
    full = inline(value)
    if len(full) <= limit:
        return code(full)
    size = len(value)
    noun = ("item" if size == 1 else "items") if isinstance(value, list) else "key"
    if isinstance(value, dict) and size != 1:
        noun = "keys"
    return code(cut_flow(value, limit)) + f" ({size} {noun})"


def show_node(source: str, node: yaml.Node, value: Any) -> str:
    """A top-level default as the README shows it (Markdown)."""
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("|", ">"):
            written = fold(node.value)
        else:
            written = fold(source[node.start_mark.index : node.end_mark.index]) or "null"
        return code(shorten(written))
    if isinstance(value, list | dict):
        return show_collection(value)
    return code(shorten(inline(value)))


def shown_defaults(defaults_text: str) -> dict[str, str]:
    """Each variable of defaults/main.yml -> its default as written, for the table."""
    root = yaml.compose(defaults_text, Loader=_NodeLoader)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("defaults/main.yml is not a mapping")
    values = load_yaml(defaults_text)
    return {
        str(key.value): show_node(defaults_text, node, values[key.value])
        for key, node in root.value
    }


def undocumented(defaults: Sequence[str], specs: Mapping[str, Any]) -> list[str]:
    """Variables of defaults/main.yml that no entry point of the argument specs lists."""
    documented = {name for spec in specs.values() for name in (spec or {}).get("options") or {}}
    return sorted(set(defaults) - documented)


# --- Markdown ----------------------------------------------------------------------------


def code(text: str) -> str:
    """A code span holding text (longer fences when text holds backticks)."""
    if "`" not in text:
        return f"`{text}`"
    return f"`` {text} ``"


def prose(text: str) -> str:
    """Description text as Markdown: <word> and * outside code spans are not markup."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = HTML_START.sub("&lt;", parts[i]).replace("*", r"\*")
    return "`".join(parts)


def cell(text: str) -> str:
    """Text in a table cell: | would end the cell, even inside a code span."""
    return text.replace("|", r"\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


# --- variables ---------------------------------------------------------------------------


def option_type(spec: Mapping[str, Any]) -> str:
    kind = str(spec.get("type", "str"))
    if kind == "list" and "elements" in spec:
        return f"list of {spec['elements']}"
    return kind


def option_description(spec: Mapping[str, Any]) -> str:
    description = spec.get("description") or ""
    parts = [description] if isinstance(description, str) else [str(d) for d in description]
    text = " ".join(" ".join(part.split()) for part in parts)
    extras = []
    if "choices" in spec:
        extras.append("Choices: " + ", ".join(code(inline(c)) for c in spec["choices"]) + ".")
    if spec.get("no_log"):
        extras.append("Secret: never logged (`no_log`).")
    return " ".join([prose(text), *extras]).strip()


def option_rows(
    options: Mapping[str, Any], defaults: Mapping[str, str], values: Any, prefix: str = ""
) -> list[list[str]]:
    """Table rows of options and, below each, its suboptions (name.sub, name[].sub).

    defaults: top-level shown defaults; values: the parent's default value, whose keys are
    the suboptions' defaults when it is a dict."""
    rows = []
    for name, spec in options.items():
        spec = spec or {}
        if prefix:
            given = isinstance(values, dict) and name in values
            default = code(shorten(inline(values[name]))) if given else "—"
        else:
            default = defaults.get(name, "—")
        rows.append(
            [
                code(prefix + name),
                option_type(spec),
                default,
                "yes" if spec.get("required") else "no",
                option_description(spec),
            ]
        )
        if spec.get("options"):
            listed = spec.get("type") == "list"
            value = values.get(name) if isinstance(values, dict) and not listed else None
            sub = f"{prefix}{name}[]." if listed else f"{prefix}{name}."
            rows += option_rows(spec["options"], defaults, value, sub)
    return rows


def variables_table(
    options: Mapping[str, Any], defaults: Mapping[str, str], values: Any
) -> list[str]:
    if not options:
        return ["This entry point has no options."]
    header = ["Variable", "Type", "Default", "Required", "Description"]
    return table(header, option_rows(options, defaults, values))


# --- tags, meta, Molecule ----------------------------------------------------------------


def tag_groups(tasks: Any) -> Iterator[list[str]]:
    """The tags of every task, block and nested task in a task list."""
    if not isinstance(tasks, list):
        return
    for task in tasks:
        if not isinstance(task, dict):
            continue
        tags = task.get("tags")
        if isinstance(tags, str):
            yield [t.strip() for t in tags.split(",") if t.strip()]
        elif isinstance(tags, list):
            yield [str(t) for t in tags]
        for key in TASK_LISTS:
            yield from tag_groups(task.get(key))


def collect_tags(task_files: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Sorted tags of the task files without always/never, and those given with never."""
    tags: set[str] = set()
    gated: set[str] = set()
    for content in task_files.values():
        for group in tag_groups(content):
            tags.update(group)
            if "never" in group:
                gated.update(group)
    special = {"always", "never"}
    return sorted(tags - special), sorted(gated - special)


def platform_names(meta: Mapping[str, Any]) -> list[str]:
    names = []
    for platform in (meta.get("galaxy_info") or {}).get("platforms") or []:
        name = str(platform.get("name", ""))
        for version in platform.get("versions") or ["all"]:
            version = str(version)
            if version == "all":
                names.append(f"{name} (every version)")
            elif name == "Debian" and version in DEBIAN_RELEASES:
                names.append(f"Debian {DEBIAN_RELEASES[version]} ({version})")
            else:
                names.append(f"{name} {version}")
    return names


def dependency_names(meta: Mapping[str, Any]) -> list[str]:
    names = []
    for dependency in meta.get("dependencies") or []:
        if isinstance(dependency, dict):
            dependency = dependency.get("role") or dependency.get("name") or ""
        names.append(str(dependency))
    return names


def site_roles(plays: Any) -> set[str]:
    """Names of the roles a playbook's plays apply (the `roles:` keyword)."""
    names: set[str] = set()
    for play in plays if isinstance(plays, list) else []:
        entries = play.get("roles") if isinstance(play, dict) else None
        for entry in entries or []:
            if isinstance(entry, dict):
                entry = entry.get("role") or entry.get("name")
            names.add(str(entry))
    return names


def scenario_platforms(molecule: Any) -> list[str]:
    """Distributions of a scenario's platforms, from their images' tags (ft-debian:trixie)."""
    names = []
    platforms = molecule.get("platforms") if isinstance(molecule, dict) else None
    for platform in platforms or []:
        tag = str(platform.get("image", "")).rpartition(":")[2]
        name = f"Debian {DEBIAN_RELEASES[tag]}" if tag in DEBIAN_RELEASES else tag
        if name and name not in names:
            names.append(name)
    return names


# --- sections ----------------------------------------------------------------------------


def description_paragraphs(spec: Mapping[str, Any]) -> list[str]:
    description = spec.get("description") or []
    parts = [description] if isinstance(description, str) else description
    return [prose(" ".join(str(part).split())) for part in parts]


def requirements_section(meta: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Requirements", ""]
    if meta is None:
        lines.append(
            "The role has no `meta/main.yml`, so it declares no platforms and no minimum"
            " Ansible version."
        )
        return lines
    platforms = platform_names(meta)
    minimum = (meta.get("galaxy_info") or {}).get("min_ansible_version")
    lines.append(
        "From `meta/main.yml` (`galaxy_info.platforms` and `galaxy_info.min_ansible_version`):"
    )
    lines.append("")
    lines += [f"- {name}" for name in platforms] or ["- No platforms declared."]
    if minimum:
        lines.append(f"- Ansible (ansible-core) {minimum} or newer")
    return lines


def variables_section(role: Role, defaults: Mapping[str, str], values: Any) -> list[str]:
    lines = [
        "## Role variables",
        "",
        "Every option of the argument specs (`meta/argument_specs.yml`), which Ansible checks"
        " before the role runs, with its default from `defaults/main.yml` (every variable"
        " there is documented here). Defaults are as written there: multi-line values are"
        f" folded to one line, and values longer than {MAX_DEFAULT} characters are cut at"
        " `…`; `—` means no default.",
        "",
    ]
    lines += variables_table(role.specs["main"].get("options") or {}, defaults, values)
    for entry, spec in role.specs.items():
        if entry == "main":
            continue
        spec = spec or {}
        lines += ["", f"### Entry point `{entry}`", ""]
        if spec.get("short_description"):
            lines += [prose(str(spec["short_description"])), ""]
        for paragraph in description_paragraphs(spec):
            lines += [paragraph, ""]
        lines += [f"Run with `tasks_from: {entry}` (see the example playbook). Its options:", ""]
        lines += variables_table(spec.get("options") or {}, defaults, values)
    return lines


def tags_section(task_files: Mapping[str, Any]) -> list[str]:
    tags, gated = collect_tags(task_files)
    lines = ["## Tags", ""]
    if not tags:
        return [*lines, "The role's tasks (`tasks/*.yml`) carry no tags besides `always`."]
    lines += ["Tags of the role's tasks (`tasks/*.yml`; `always` left out):", ""]
    lines += [f"- `{tag}`" for tag in tags]
    if gated:
        named = ", ".join(f"`{tag}`" for tag in gated)
        lines += [
            "",
            f"Tasks tagged `never` as well run only when asked for by tag: {named}"
            " (e.g. `--tags " + gated[0] + "`).",
        ]
    return lines


def dependencies_section(meta: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Dependencies", ""]
    names = dependency_names(meta) if meta is not None else []
    if not names:
        source = "`meta/main.yml` lists none" if meta is not None else "no `meta/main.yml`"
        return [*lines, f"None ({source})."]
    return [*lines, *[f"- `{name}`" for name in names]]


def required_vars(options: Mapping[str, Any], indent: str) -> list[str]:
    lines = []
    for name, spec in options.items():
        if (spec or {}).get("required"):
            kind = str((spec or {}).get("type", "str"))
            placeholder = PLACEHOLDERS.get(kind, '"CHANGE_ME"')
            lines.append(f"{indent}{name}: {placeholder}  # required, {option_type(spec)}")
    return lines


def example_section(role: Role) -> list[str]:
    lines = ["## Example playbook", "", "```yaml"]
    lines += [
        f"- name: Apply the {role.name} role",
        "  hosts: all",
        "  become: true",
        "  roles:",
        f"    - role: {role.name}",
    ]
    required = required_vars(role.specs["main"].get("options") or {}, " " * 8)
    if required:
        lines += ["      vars:", *required]
    for entry, spec in role.specs.items():
        if entry == "main":
            continue
        lines += [
            "",
            f"- name: Run the {role.name} role's {entry} entry point",
            "  hosts: all",
            "  become: true",
            "  tasks:",
            # Imported: the entry point's tasks then carry the caller's tags.
            f"    - name: Import the {entry} tasks of the {role.name} role",
            "      ansible.builtin.import_role:",
            f"        name: {role.name}",
            f"        tasks_from: {entry}",
        ]
        required = required_vars((spec or {}).get("options") or {}, " " * 8)
        if required:
            lines += ["      vars:", *required]
    return [*lines, "```"]


def tests_section(role: Role) -> list[str]:
    lines = ["## Tests", ""]
    if role.scenarios:
        lines += [f"Molecule scenarios in `roles/{role.name}/molecule/`:", ""]
        for name, molecule in role.scenarios.items():
            where = ", ".join(scenario_platforms(molecule))
            run = (
                f"tools/run-molecule.sh {role.name}"
                if name == "default"
                else f"tools/molecule-scenario.sh roles/{role.name} {name} {role.name}-{name}"
            )
            lines.append(f"- `{name}`" + (f" ({where})" if where else "") + f": `{run}`")
    else:
        lines.append(f"No Molecule scenario of its own under `roles/{role.name}/molecule/`.")
    if role.in_site:
        lines += [
            "",
            "`site.yml` applies the role, so the whole-site scenario `tests/molecule/site`"
            " (`tools/run-molecule.sh site`) converges it too.",
        ]
    return lines


def render(role: Role) -> str:
    """The README of a role; RoleError when a default is undocumented or main is missing."""
    if "main" not in role.specs:
        raise RoleError(f"{role.name}: meta/argument_specs.yml has no `main` entry point")
    defaults = shown_defaults(role.defaults_text)
    missing = undocumented(list(defaults), role.specs)
    if missing:
        raise RoleError(
            f"{role.name}: variables in defaults/main.yml missing from"
            f" meta/argument_specs.yml: {', '.join(missing)}"
        )
    main = role.specs["main"]
    lines = [
        f"<!-- Generated by {GENERATOR} from roles/{role.name}/meta/argument_specs.yml and"
        " defaults/main.yml: do not edit by hand, run `make role-readmes`. -->",
        f"# Ansible role: {role.name}",
        "",
    ]
    if main.get("short_description"):
        lines += [f"**{prose(str(main['short_description']))}**", ""]
    for paragraph in description_paragraphs(main):
        lines += [paragraph, ""]
    sections = [
        requirements_section(role.meta),
        variables_section(role, defaults, load_yaml(role.defaults_text) or {}),
        tags_section(role.task_files),
        dependencies_section(role.meta),
        example_section(role),
        tests_section(role),
    ]
    for section in sections:
        lines += [*section, ""]
    lines += [
        "---",
        "",
        f"This file is generated by `{GENERATOR}` from `meta/argument_specs.yml` (and"
        " `defaults/main.yml`, `meta/main.yml`, `tasks/`, `molecule/`) and must not be edited"
        " by hand: change those and run `make role-readmes`.",
    ]
    return "\n".join(lines) + "\n"


# --- files -------------------------------------------------------------------------------


def read_optional(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_role(role_dir: Path, applied: set[str]) -> Role:
    name = role_dir.name
    specs_text = read_optional(role_dir / "meta" / "argument_specs.yml")
    if specs_text is None:
        raise RoleError(f"{name}: no meta/argument_specs.yml")
    specs = (load_yaml(specs_text) or {}).get("argument_specs") or {}
    meta_text = read_optional(role_dir / "meta" / "main.yml")
    tasks = sorted((role_dir / "tasks").glob("*.yml"))
    molecule = sorted(p for p in (role_dir / "molecule").glob("*/molecule.yml"))
    return Role(
        name=name,
        specs=specs,
        defaults_text=read_optional(role_dir / "defaults" / "main.yml") or "",
        meta=(load_yaml(meta_text) or {}) if meta_text is not None else None,
        task_files={p.name: load_yaml(p.read_text(encoding="utf-8")) for p in tasks},
        scenarios={p.parent.name: load_yaml(p.read_text(encoding="utf-8")) for p in molecule},
        in_site=name in applied,
    )


def role_dirs(roles_dir: Path, names: Sequence[str] = ()) -> list[Path]:
    dirs = sorted(p for p in roles_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if names:
        unknown = sorted(set(names) - {p.name for p in dirs})
        if unknown:
            raise RoleError(f"no such role under {roles_dir}: {', '.join(unknown)}")
        dirs = [p for p in dirs if p.name in names]
    return dirs


def applied_roles(roles_dir: Path) -> set[str]:
    site = read_optional(roles_dir.parent / "site.yml")
    return site_roles(load_yaml(site)) if site is not None else set()


def expected_readme(role_dir: Path, applied: set[str]) -> str:
    """The README the role should have (RoleError, yaml.YAMLError when it cannot be made)."""
    return render(read_role(role_dir, applied))


def check_role(role_dir: Path, applied: set[str]) -> str | None:
    """None when the role's README is current, else why not."""
    try:
        expected = expected_readme(role_dir, applied)
    except (RoleError, ValueError, yaml.YAMLError) as error:
        return f"roles/{role_dir.name}/README.md cannot be generated: {error}"
    current = read_optional(role_dir / "README.md")
    if current is None:
        return f"roles/{role_dir.name}/README.md is missing"
    if current != expected:
        return f"roles/{role_dir.name}/README.md is stale"
    return None


def write_role(role_dir: Path, applied: set[str]) -> str | None:
    """Write the role's README when it changed; the error message when it cannot be made."""
    try:
        expected = expected_readme(role_dir, applied)
    except (RoleError, ValueError, yaml.YAMLError) as error:
        return str(error)
    readme = role_dir / "README.md"
    if read_optional(readme) != expected:
        readme.write_text(expected, encoding="utf-8")
        print(f"wrote {readme}")
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roles", nargs="*", help="only these roles (default: every role)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--roles-dir", type=Path, default=ROOT / "roles")
    args = parser.parse_args(argv)
    try:
        dirs = role_dirs(args.roles_dir, args.roles)
    except RoleError as error:
        print(error, file=sys.stderr)
        return 2
    applied = applied_roles(args.roles_dir)
    action = check_role if args.check else write_role
    problems = [p for p in (action(d, applied) for d in dirs) if p is not None]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.check:
        print(f"fix what is named, then run `make role-readmes` ({GENERATOR})", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
