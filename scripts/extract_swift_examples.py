#!/usr/bin/env python3
"""Extracts every ```swift code block of the documentation into Swift files that `make docs-check`
compiles against the library, so that no example in the documentation can stop compiling unnoticed.

The documentation is the only copy of each example; what this script writes is generated, git-ignored
and brought up to date on every run, one file per block (Tests/DocumentationExamples/Generated/, part
of the DocumentationExamples test target, whose committed stub keeps a fresh clone's
`swift build --build-tests` working).

Where the blocks come from:
  - README.md;
  - every DocC article, Sources/<Module>/<Name>.docc/**/*.md;
  - the `///` documentation comments in Sources/**/*.swift.

How a block becomes Swift:
  - Blocks whose top-level lines (column 0) are all declarations (`struct`, `final class`, `func`,
    `extension`, attributes, `import`, …) are compiled as they are, at file scope.
  - Any other block is top-level code: it is compiled as the body of its own `async throws` function.
    Its `import` lines move to the top of the file, and the constants and variables it declares at
    column 0 count as used (as in a script's top level: a fragment shows how to get a value, not
    what to do with it next). Everything else is compiled as written, with warnings as errors.
  - Every block sees `import SessionVaultKit`; a block from a doc comment also sees its own module.
    Nothing else is imported for it: a block that uses Foundation says `import Foundation`.
  - All blocks are one module: a type that one block declares (an article's `MyStore`) can be used
    by a later block.
  - Compiler messages name the Markdown (or Swift) file and line of the block (#sourceLocation).

A block may be preceded (on the nearest non-blank line, `///` stripped in doc comments) by one HTML
comment, which DocC and GitHub do not render:
  <!-- example: given NAME: TYPE, NAME: TYPE -->  top-level code that continues from values the text
                                                 introduced; they become the function's parameters.
  <!-- example: statements -->                   compile as top-level code even if it looks like declarations.
  <!-- example: declarations -->                 compile at file scope even if it looks like statements.
  <!-- example: skip REASON -->                  do not compile (listed on every run; give a reason).

Blocks that import an optional module (SessionVaultPostgres) are wrapped in `#if SESSION_VAULT_POSTGRES`,
so they compile when the package trait `PostgreSQL` is on (as in `make test`); setting
SESSION_VAULT_WITHOUT_POSTGRES leaves them out of the generated sources altogether.

Usage: scripts/extract_swift_examples.py [--root DIR] [--output DIR] [--list]
Exit status: 0 when the files were written, 1 with `file:line: error: …` messages otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUTPUT = "Tests/DocumentationExamples/Generated"
LIBRARY_MODULE = "SessionVaultKit"
# Modules that are not always part of the package, and the compilation condition that says they are
# (Package.swift defines it for the DocumentationExamples target).
OPTIONAL_MODULES = {"SessionVaultPostgres": "SESSION_VAULT_POSTGRES"}

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$")
IMPORT = re.compile(r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?(?P<module>\w+)")
DECLARATION_START = re.compile(
    r"^(?:@|#if\b|#else\b|#elseif\b|#endif\b|(?:(?:public|package|internal|fileprivate|private|open|final|"
    r"nonisolated|indirect|static|distributed)\s+)*(?:import|struct|class|enum|protocol|extension|actor|func|"
    r"typealias|macro|precedencegroup|(?:prefix|postfix|infix)\s+operator)\b)"
)
TOP_LEVEL_BINDING = re.compile(r"^(?:let|var)\s+(?P<name>[A-Za-z_]\w*)\s*[:=]")
DOC_COMMENT = re.compile(r"^(?P<indent>[ \t]*)///(?P<text>.*)$")


class ExtractionError(Exception):
    pass


@dataclass
class Block:
    source: str  # path relative to the root, as the compiler will print it
    line: int  # 1-based line of the first code line
    code: list[str]
    marker: str | None = None
    marker_line: int | None = None
    module: str | None = None  # the module of a doc comment's file
    kind: str = ""  # "statements", "declarations" or "skip"
    given: str = ""
    skip_reason: str = ""

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


def markdown_blocks(source: str, lines: list[str], module: str | None = None,
                    line_numbers: list[int] | None = None) -> list[Block]:
    """The ```swift blocks of `lines` (Markdown text), each with the marker comment before it."""
    numbers = line_numbers or list(range(1, len(lines) + 1))
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE_OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        language = info.split()[0].lower() if info else ""
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        end = index + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        if end == len(lines):
            if language == "swift":
                raise ExtractionError(f"{source}:{numbers[index]}: error: the ```swift block is never closed")
            index += 1
            continue
        if language == "swift":
            code = []
            for raw in lines[index + 1:end]:
                # Content lines lose the fence's indentation (list items), as in CommonMark.
                stripped = raw
                for _ in range(len(indent)):
                    if stripped[:1] in (" ", "\t"):
                        stripped = stripped[1:]
                code.append(stripped)
            block = Block(source=source, line=numbers[index] + 1, code=code, module=module)
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and (marker := MARKER.match(lines[previous])):
                block.marker, block.marker_line = marker["body"], numbers[previous]
            blocks.append(block)
        else:
            # A marker before another language's block is a mistake.
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and MARKER.match(lines[previous]):
                raise ExtractionError(
                    f"{source}:{numbers[previous]}: error: an example marker before a ```{language} block, not a ```swift one"
                )
        index = end + 1
    # A marker that precedes no block at all.
    fenced = {b.marker_line for b in blocks}
    for position, text in enumerate(lines):
        if MARKER.match(text) and numbers[position] not in fenced:
            following = position + 1
            while following < len(lines) and not lines[following].strip():
                following += 1
            if following == len(lines) or not FENCE_OPEN.match(lines[following]):
                raise ExtractionError(f"{source}:{numbers[position]}: error: an example marker that is not followed by a code block")
    return blocks


def doc_comment_blocks(source: str, text: str, module: str) -> list[Block]:
    """The ```swift blocks of the `///` comments of a Swift file (consecutive `///` lines are one comment)."""
    blocks: list[Block] = []
    comment: list[str] = []
    numbers: list[int] = []

    def flush() -> None:
        if comment:
            blocks.extend(markdown_blocks(source, comment, module=module, line_numbers=numbers))
        comment.clear()
        numbers.clear()

    for number, line in enumerate(text.splitlines(), start=1):
        match = DOC_COMMENT.match(line)
        if match:
            body = match["text"]
            comment.append(body[1:] if body.startswith(" ") else body)
            numbers.append(number)
        else:
            flush()
    flush()
    return blocks


def classify(block: Block) -> None:
    significant = []
    for line in block.code:
        if not line.strip() or line.startswith((" ", "\t", "}", ")", "]", "//", "/*", "*")):
            continue
        significant.append(line)
    looks_like_declarations = bool(significant) and all(DECLARATION_START.match(line) for line in significant)
    marker = block.marker
    if marker is None:
        block.kind = "declarations" if looks_like_declarations else "statements"
        return
    where = f"{block.source}:{block.marker_line}"
    if marker == "statements" or marker == "declarations":
        block.kind = marker
    elif marker.startswith("given"):
        block.given = marker[len("given"):].strip()
        if not block.given:
            raise ExtractionError(f"{where}: error: `given` needs parameters, e.g. `given vault: SessionVault`")
        block.kind = "statements"
    elif marker.startswith("skip"):
        block.skip_reason = marker[len("skip"):].strip(" -—:")
        if not block.skip_reason:
            raise ExtractionError(f"{where}: error: `skip` needs a reason")
        block.kind = "skip"
    else:
        raise ExtractionError(
            f"{where}: error: unknown example marker {marker!r} (given …, statements, declarations, skip …)"
        )


def identifier(text: str) -> str:
    return re.sub(r"\W", "_", text)


def swift_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render(block: Block) -> tuple[str, set[str]]:
    """The generated file for `block`, and the modules it imports."""
    location = swift_string(block.source)
    body = list(block.code)
    imported: dict[str, None] = {}
    hoisted: list[str] = []
    if block.kind == "statements":
        for offset, line in enumerate(body):
            match = IMPORT.match(line)
            if match:
                imported[match["module"]] = None
                hoisted.append(line.split("//")[0].strip())
                body[offset] = ""  # keeps the line numbers
    else:
        for line in body:
            if match := IMPORT.match(line):
                imported[match["module"]] = None
    implicit = [LIBRARY_MODULE] + ([block.module] if block.module and block.module != LIBRARY_MODULE else [])
    implicit = [module for module in implicit if module not in imported]
    modules = set(imported) | set(implicit)

    # Everything before the code, as few lines as possible: the code is then padded down to the
    # line it has in the documentation, so that the excerpts in compiler messages show the same
    # line numbers as the file:line they name.
    prefix: list[str] = []
    conditions = sorted(OPTIONAL_MODULES[module] for module in modules if module in OPTIONAL_MODULES)
    if conditions:
        prefix.append("#if " + " && ".join(conditions))
    imports = [f"import {module}" for module in implicit] + hoisted
    prefix.append("; ".join(imports))
    if block.kind == "statements":
        if block.given:
            prefix.append(f'#sourceLocation(file: "{location}", line: {block.marker_line})')
        name = "example_" + identifier(block.source) + f"_L{block.line}"
        prefix.append(f"func {name}({block.given}) async throws {{")
    prefix.append(f'#sourceLocation(file: "{location}", line: {block.line})')
    out = [""] * max(0, block.line - 1 - len(prefix)) + prefix + body + ["#sourceLocation()"]
    if block.kind == "statements":
        for line in body:
            if match := TOP_LEVEL_BINDING.match(line):
                out.append(f"_ = {match['name']}")
        out.append("}")
    if conditions:
        out.append("#endif")
    out.append(f"// Generated by scripts/extract_swift_examples.py from {block.location}. Edit the documentation, not this file.")
    return "\n".join(out) + "\n", modules


def collect(root: Path) -> list[Block]:
    blocks: list[Block] = []
    readme = root / "README.md"
    if readme.exists():
        blocks += markdown_blocks("README.md", readme.read_text(encoding="utf-8").splitlines())
    sources = root / "Sources"
    for article in sorted(sources.glob("*/*.docc/**/*.md")):
        relative = article.relative_to(root).as_posix()
        blocks += markdown_blocks(relative, article.read_text(encoding="utf-8").splitlines())
    for swift in sorted(sources.rglob("*.swift")):
        relative = swift.relative_to(root).as_posix()
        module = swift.relative_to(sources).parts[0]
        text = swift.read_text(encoding="utf-8")
        if "```" in text:
            blocks += doc_comment_blocks(relative, text, module)
    return blocks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=Path(__file__).resolve().parent.parent, type=Path)
    parser.add_argument("--output", default=None, type=Path, help=f"default: ROOT/{DEFAULT_OUTPUT}")
    parser.add_argument("--list", action="store_true", help="print every block and how it is compiled")
    arguments = parser.parse_args()
    root = arguments.root.resolve()
    output = (arguments.output or root / DEFAULT_OUTPUT).resolve()

    try:
        blocks = collect(root)
        for block in blocks:
            classify(block)
    except ExtractionError as error:
        print(error, file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(f"extract_swift_examples: {error}", file=sys.stderr)
        return 1

    without = {module for module in OPTIONAL_MODULES if os.environ.get("SESSION_VAULT_WITHOUT_POSTGRES")}
    output.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    per_source: dict[str, int] = {}
    compiled = skipped = absent = 0
    for block in blocks:
        if block.kind == "skip":
            skipped += 1
            print(f"docs-check: {block.location}: not compiled ({block.skip_reason})")
            continue
        text, modules = render(block)
        name = identifier(block.source) + f"_L{block.line}.swift"
        written.add(name)
        target = output / name
        # Unchanged files keep their modification time, so that the build recompiles only what changed.
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        if modules & without:
            absent += 1
            print(f"docs-check: {block.location}: not compiled in this build (needs {', '.join(sorted(modules & without))}; "
                  "SESSION_VAULT_WITHOUT_POSTGRES is set)")
            continue
        compiled += 1
        per_source[block.source] = per_source.get(block.source, 0) + 1
        if arguments.list:
            given = f" given {block.given}" if block.given else ""
            print(f"docs-check: {block.location}: {block.kind}{given}")
    for stale in output.iterdir():
        if stale.name not in written:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    summary = ", ".join(f"{source} {count}" for source, count in per_source.items())
    print(f"docs-check: {compiled} Swift code blocks to compile ({summary}); {skipped} skipped, "
          f"{absent} left out of this build; written to {output.relative_to(root) if output.is_relative_to(root) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
