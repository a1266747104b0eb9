#!/usr/bin/env python3
"""Writes the man pages and the bash completion of fabricctl from its own --help output.

    help2docs.py --binary build/fabricctl --man-dir DIR --completion FILE

Walks every subcommand (`fabricctl [PATH...] --help`, CLI11's layout: description, Usage
line, then sections such as "Options:" with two-space-indented entries whose text starts
in a column of its own), and writes one page per command: fabricctl.1.gz,
fabricctl-route.1.gz, fabricctl-route-compute.1.gz, ... The completion offers the
subcommands, the long flags of the command being typed, the choices of a flag such as
`--fabric TEXT:{sim,tcp,verbs,mpi}` and file names elsewhere. The build runs this after
linking fabricctl, so the pages and the completion always match the binary.
"""

import argparse
import gzip
import io
import pathlib
import re
import subprocess
import sys

ENTRY_SECTIONS = {"Positionals", "Options", "Subcommands"}
MAN_SECTION_NAMES = {"Positionals": "ARGUMENTS", "Options": "OPTIONS", "Subcommands": "COMMANDS"}
HELP_TIMEOUT_SECONDS = 30


class Entry:
    """One option, positional or subcommand line: its left column and its description."""

    def __init__(self, spec, column):
        self.spec = spec
        self.column = column
        self.lines = []  # (extra indent, text); extra indent > 0 marks a table row


class Command:
    def __init__(self, path):
        self.path = path  # e.g. ["route", "compute"]
        self.description = []  # lines before "Usage:"
        self.usage = ""
        self.sections = []  # (title, [Entry]) or (title, [raw line])
        self.children = []

    @property
    def name(self):
        return "-".join(["fabricctl"] + self.path)

    def entries(self, title):
        for section_title, body in self.sections:
            if section_title == title:
                return body
        return []


def run_fabricctl(binary, arguments):
    result = subprocess.run([binary] + arguments, capture_output=True, text=True,
                            timeout=HELP_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        sys.exit(f"help2docs: `{' '.join(['fabricctl'] + arguments)}` exited {result.returncode}: "
                 f"{result.stderr.strip()}")
    return result.stdout


def is_entry_section(title, body_lines):
    if title in ENTRY_SECTIONS:
        return True
    first = next((line for line in body_lines if line.strip()), "")
    return first.startswith("  -")  # an option group of its own name


def parse_entries(body_lines):
    entries = []
    for line in body_lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 2:
            match = re.match(r"  (\S.*?)(?:\s{2,}(\S.*))?$", line)
            entry = Entry(match.group(1), match.end(1) if match.group(2) is None else match.start(2))
            if match.group(2):
                entry.lines.append((0, match.group(2)))
            entries.append(entry)
        elif entries:
            entry = entries[-1]
            if not entry.lines:  # the left column filled its line: the text starts here
                entry.column = indent
            entry.lines.append((max(0, indent - entry.column), line.strip()))
    return entries


def parse_help(text, path):
    command = Command(path)
    lines = text.rstrip("\n").split("\n")
    index = 0
    while index < len(lines) and not lines[index].startswith("Usage: "):
        command.description.append(lines[index])
        index += 1
    if index == len(lines):
        sys.exit(f"help2docs: no Usage line in the help of {command.name}")
    command.usage = lines[index][len("Usage: "):]
    index += 1
    title, body = None, []
    for line in lines[index:] + ["End:"]:
        header = re.match(r"(\S.*):$", line)
        if header:
            if title is not None:
                command.sections.append(make_section(title, body))
            title, body = header.group(1), []
        elif title is not None:
            body.append(line)
    return command


def make_section(title, body):
    if is_entry_section(title, body):
        return (title, parse_entries(body))
    while body and not body[-1].strip():
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    return (title, body)


def walk(binary, path=()):
    path = list(path)
    command = parse_help(run_fabricctl(binary, path + ["--help"]), path)
    for entry in command.entries("Subcommands"):
        command.children.append(walk(binary, path + [entry.spec.split()[0]]))
    return command


# ---------------------------------------------------------------------------- man pages


def roff_text(text):
    """Escapes text for roff: backslashes, hyphens (so -- stays two hyphens), quotes."""
    return text.replace("\\", "\\e").replace("-", "\\-").replace("'", "\\(aq")


def roff_line(text):
    text = roff_text(text)
    return "\\&" + text if text.startswith(".") else text


def roff_spec(spec):
    """`-o,--output TEXT=x` -> bold flag names, the value spec in roman."""
    words = spec.split(" ", 1)
    names = [roff_flag_name(name) for name in words[0].split(",")]
    rest = " " + roff_text(words[1]) if len(words) > 1 else ""
    return ", ".join(names) + rest


def roff_flag_name(name):
    match = re.match(r"(-{1,2}[^{]+)(.*)$", name)
    if not match:
        return f"\\fI{roff_text(name)}\\fR"
    return f"\\fB{roff_text(match.group(1))}\\fR{roff_text(match.group(2))}"


def roff_paragraphs(lines, paragraph=".PP"):
    """Text lines: plain lines are filled into paragraphs, indented lines kept as a table."""
    out = []
    verbatim = False
    for indent, text in lines:
        if indent > 0 and not verbatim:
            out += [".RS 2", ".nf"]
            verbatim = True
        elif indent == 0 and verbatim:
            out += [".fi", ".RE"]
            verbatim = False
        if not text:
            out.append(paragraph if not verbatim else ".sp")
        else:
            out.append(roff_line(" " * max(0, indent - 2) + text) if verbatim else roff_line(text))
    if verbatim:
        out += [".fi", ".RE"]
    return out


def indented(lines):
    return [(len(line) - len(line.lstrip(" ")), line.strip()) for line in lines]


def summary(command, parent_entry):
    """The NAME line: the first sentence the parent lists for this command."""
    if parent_entry is not None and parent_entry.lines:
        text = parent_entry.lines[0][1]
    else:
        text = command.description[0] if command.description else ""
        text = re.sub(r"^fabricctl:\s*", "", text)
    return re.split(r"(?<=[a-z)])\. ", text)[0].rstrip(".")


def man_page(command, version, parent, parent_entry):
    out = [f'.TH "{command.name.upper()}" "1" "" "fabricctl {version}" "fabricctl manual"',
           ".SH NAME", f"{roff_text(command.name)} \\- {roff_text(summary(command, parent_entry))}",
           ".SH SYNOPSIS", ".nf", roff_line(command.usage), ".fi"]
    description = list(command.description)
    if not command.path and description:
        description[0] = re.sub(r"^fabricctl:\s*", "", description[0])
    if any(line.strip() for line in description):
        out += [".SH DESCRIPTION"] + roff_paragraphs(indented(description))
    for title, body in command.sections:
        out += man_section(command, title, body)
    related = ([parent.name] if parent else []) + [child.name for child in command.children]
    if related:
        out += [".SH SEE ALSO", ",\n".join(f"\\fB{roff_text(name)}\\fR(1)" for name in related)]
    return "\n".join(out) + "\n"


def man_section(command, title, body):
    if body and isinstance(body[0], Entry):
        out = [f".SH {MAN_SECTION_NAMES.get(title, roff_text(title.upper()))}"]
        for entry in body:
            if title == "Subcommands":
                label = f"\\fB{roff_text(entry.spec)}\\fR"
                child = f"{command.name}-{entry.spec.split()[0]}"
                lines = entry.lines + [(0, ""), (0, f"See {child}(1).")]
            else:
                label = roff_spec(entry.spec) if entry.spec.startswith("-") else f"\\fI{roff_text(entry.spec)}\\fR"
                lines = entry.lines
            out += [".TP", label] + roff_paragraphs(lines, paragraph=".IP")
        return out
    heading = re.split(r" \(", title)[0]
    out = [f".SH {roff_text(heading.upper())}"]
    if heading != title:
        out += [roff_line(title + ":")]
    return out + [".PP", ".nf"] + [roff_line(line) for line in body] + [".fi"]


def write_man_pages(root, version, directory):
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("fabricctl*.1.gz"):
        stale.unlink()

    def visit(command, parent, parent_entry):
        page = man_page(command, version, parent, parent_entry).encode()
        buffer = io.BytesIO()
        # mtime 0 and no file name: the same help gives the same bytes (reproducible package).
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as packed:
            packed.write(page)
        (directory / f"{command.name}.1.gz").write_bytes(buffer.getvalue())
        entries = {entry.spec.split()[0]: entry for entry in command.entries("Subcommands")}
        for child in command.children:
            visit(child, command, entries[child.path[-1]])

    visit(root, None, None)


# ---------------------------------------------------------------------------- completion


def flag_names(entry):
    return [re.sub(r"\{.*$", "", name) for name in entry.spec.split(" ", 1)[0].split(",")]


def takes_value(entry):
    words = entry.spec.split(" ", 1)
    return len(words) > 1 and words[1].strip() != ""


def choices(entry):
    match = re.search(r":\{([^}]*)\}", entry.spec)
    return match.group(1).split(",") if match else []


def bash_word(text):
    return "'" + text.replace("'", "'\\''") + "'"


def completion_script(root):
    commands, flags, valued, choice_map = {}, {}, {}, {}

    def visit(command):
        key = " ".join(["fabricctl"] + command.path)  # bash refuses an empty array key
        commands[key] = [child.path[-1] for child in command.children]
        options = [entry for title, body in command.sections if body and isinstance(body[0], Entry)
                   for entry in body if entry.spec.startswith("-")]
        flags[key] = [name for entry in options for name in flag_names(entry) if name.startswith("--")]
        valued[key] = [name for entry in options if takes_value(entry) for name in flag_names(entry)]
        for entry in options:
            for name in flag_names(entry):
                if choices(entry):
                    choice_map[f"{key}|{name}"] = choices(entry)
        for child in command.children:
            visit(child)

    visit(root)

    def table(name, mapping):
        rows = "\n".join(f"  [{bash_word(key)}]={bash_word(' '.join(value))}" for key, value in sorted(mapping.items()))
        return f"_fabricctl_{name}=(\n{rows}\n)"

    return f"""# bash completion for fabricctl; generated from `fabricctl --help` by tools/man/help2docs.py.
declare -gA _fabricctl_commands _fabricctl_flags _fabricctl_valued _fabricctl_choices
{table("commands", commands)}
{table("flags", flags)}
{table("valued", valued)}
{table("choices", choice_map)}

_fabricctl() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} path=fabricctl word i
  local prev=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
    if [[ " ${{_fabricctl_valued[$path]}} " == *" $word "* ]]; then
      # The flag's value is the next word, unless it is the word being completed.
      if ((i + 1 == COMP_CWORD)); then prev=$word; fi
      ((i++))
    elif [[ " ${{_fabricctl_commands[$path]}} " == *" $word "* ]]; then
      path="$path $word"
    fi
  done
  if [[ -n $prev ]]; then
    if [[ -n ${{_fabricctl_choices[$path|$prev]+set}} ]]; then
      mapfile -t COMPREPLY < <(compgen -W "${{_fabricctl_choices[$path|$prev]}}" -- "$cur")
    else
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${{_fabricctl_flags[$path]}}" -- "$cur")
  elif [[ -n ${{_fabricctl_commands[$path]}} ]]; then
    mapfile -t COMPREPLY < <(compgen -W "${{_fabricctl_commands[$path]}}" -- "$cur")
  else
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}}
complete -F _fabricctl fabricctl
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True, help="the fabricctl binary")
    parser.add_argument("--man-dir", type=pathlib.Path, help="directory for the fabricctl*.1.gz pages")
    parser.add_argument("--completion", type=pathlib.Path, help="bash completion file to write")
    args = parser.parse_args()
    version_words = run_fabricctl(args.binary, ["--version"]).split()
    version = version_words[1] if len(version_words) > 1 else "unknown"
    root = walk(args.binary)
    if args.man_dir:
        write_man_pages(root, version, args.man_dir)
    if args.completion:
        args.completion.parent.mkdir(parents=True, exist_ok=True)
        args.completion.write_text(completion_script(root))


if __name__ == "__main__":
    main()
