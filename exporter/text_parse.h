#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace joelclaw {

/// Parses a whole string as a base-10 signed integer ("-9", "4121"). False
/// on empty input, trailing characters or overflow. Pure; for the command
/// output parsers (launchctl, systemctl, …).
bool ParseSignedLong(std::string_view s, long* out);

/// `s` without leading and trailing ASCII whitespace (" \t\r\n\f\v"). Pure.
std::string_view TrimBlanks(std::string_view s);

/// The lines of `s` (split at '\n'), empty ones left out: one entry per
/// problem of a multi-line error message. Views into `s`. Pure.
std::vector<std::string_view> NonEmptyLines(std::string_view s);

/// `s` with A-Z turned into a-z (HTTP header names). Pure.
std::string AsciiLower(std::string s);

/// The start of `s` for an error message: at most `max_bytes` bytes, each
/// run of whitespace read as one space, each other byte that is not
/// printable ASCII replaced by '?', and "..." appended when `s` was longer.
/// Pure; command output and files may hold anything.
std::string Excerpt(std::string_view s, size_t max_bytes = 40);

/// Excerpt() between single quotes: 'like this...'.
std::string QuotedExcerpt(std::string_view s, size_t max_bytes = 40);

/// The length of the well-formed UTF-8 sequence starting at s[i] (1 for
/// ASCII), or 0 when the bytes there are not one: overlong forms,
/// surrogates and code points past U+10FFFF are not, as Go's
/// utf8.DecodeRuneInString judges them. REQUIRES: i < s.size(). Pure.
size_t Utf8SequenceLength(std::string_view s, size_t i);

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or
/// code points past U+10FFFF): what Prometheus requires of label values.
/// Pure.
bool IsValidUtf8(std::string_view s);

/// `s` made safe for one log line: control bytes (newlines included),
/// backslashes, double quotes and bytes that are not valid UTF-8 become
/// escapes (\n, \\, \", \xff), and at most `max_bytes` of the input are
/// kept ("..." marks a cut). A forged "\n2026-01-01 … error …" stays on the
/// line it came in. Pure.
std::string EscapeLogField(std::string_view s, size_t max_bytes = 512);

}  // namespace joelclaw
