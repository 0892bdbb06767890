/// Parsing without the commands' own checks, for one purpose: swift-argument-parser runs a
/// command's `validate()` before it reports arguments it did not recognize, so a mistyped flag
/// (`--modle`) surfaced as the check it made fail ("Missing expected argument '--model <dir>'")
/// instead of as itself. `OwlPrune.parse(_:)` parses a second time with the checks off when the
/// first parse fails a check, and reports an unrecognized argument if that parse finds one.
/// Every `validate()` returns at once while `active`. A task-local value, so a parse on another
/// thread (tests parse command lines side by side) keeps its checks.
package enum ParseOnly {
    @TaskLocal package static var active = false
}
