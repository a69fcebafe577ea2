// The DocumentationExamples target compiles the Swift code blocks of the documentation: README.md,
// the DocC articles (Sources/*/*.docc) and the `///` comments of Sources/. The documentation is the
// only copy of each example. `make docs-check` (part of `make test`) runs
// scripts/extract_swift_examples.py, which writes one file per block into Generated/ (git-ignored,
// rewritten on every run), and builds this target with warnings as errors; a block that does not
// compile fails with the Markdown file and line of the block. The script's help lists the markers
// for fragments (`<!-- example: given vault: SessionVault -->`, `skip`, …).
//
// This file keeps the target buildable before the first run (a fresh clone's
// `swift build --build-tests`). After switching branches, run `make docs-check` again: Generated/
// holds the examples of the documentation as it was when the script last ran.
