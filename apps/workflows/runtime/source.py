"""Turn an author's ES module into code the sandbox can run, without moving a line.

A workflow is a module with `export default <function>`. The engine runs it as
the body of an async function inside a module (`WRAPPER_PREFIX`): that keeps
module semantics (strict mode, top-level `await`, module-scoped declarations)
while the sandbox decides when the author's top-level code runs. The rewrite
keeps every line where it was, and every column except after an inserted `;`
(and on line 1, where the engine's columns are shifted by the prefix and
mapped back by the sandbox):

    export default async function (ctx) {…}   →   __fx.d =       async function (ctx) {…};
    export default function main(ctx) {…}      →                  function main(ctx) {…}   (+ "\\n;__fx.d=main;")
    export const x = 1                         →          const x = 1
    import … / export { … } / export * …       →   CompileError

The scan is a small tokenizer (strings, comments, templates, regex literals)
that only needs to find top-level `import`/`export` keywords. It is not what
keeps the sandbox safe: the engine compiles the rewritten body on its own as a
module first, so code that would not parse on its own, e.g. a stray `}` that
could close the wrapper, never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .interface import CompileError

# The wrapper: the author's code becomes the body of an anonymous async
# function handed to the prelude through a one-shot global setter. `(0, …)`
# keeps the function anonymous, so stack frames don't show a made-up name.
EXPORTS_PARAM = "__fx"
WRAPPER_PREFIX = f"__fastnModule=(0,async function({EXPORTS_PARAM}){{"
WRAPPER_SUFFIX = "\n});"

MAX_SOURCE_CHARS = 2 * 1024 * 1024

_DEFAULT_TARGET = f"{EXPORTS_PARAM}.d"  # replaces `export` (same length)
_DEFAULT_ASSIGN = "=      "  # replaces `default` (same length)
assert len(_DEFAULT_TARGET) == len("export") and len(_DEFAULT_ASSIGN) == len("default")

_DECLARATION_KEYWORDS = frozenset({"const", "let", "var", "function", "async", "class"})
# After these keywords an expression starts, so `/` begins a regular expression.
_KEYWORDS_BEFORE_EXPRESSION = frozenset(
    {
        "return",
        "typeof",
        "instanceof",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "case",
        "do",
        "else",
        "yield",
        "await",
        "extends",
    }
)
_NUMBER = re.compile(r"(?:0[xXoObB][0-9a-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?n?)")
_PUNCTUATORS_2 = frozenset({"?.", "=>", "++", "--", "&&", "||", "??", "==", "!=", "<=", ">=", "**", "<<", ">>"})
_SPACE_CHARS = " \t\r\n\v\f\ufeff\u00a0\u2028\u2029"
_SPACE = re.compile(f"[{_SPACE_CHARS}]+")
_LINE_BREAK = re.compile("[\n\r\u2028\u2029]")
# Unterminated literals stop at the end of the line (or code): QuickJS reports them.
_STRINGS = {quote: re.compile(rf"{quote}(?:[^{quote}\\\n]|\\.)*{quote}?", re.DOTALL) for quote in "'\""}
_TEMPLATE_CHARS = re.compile(r"(?:[^`\\$]|\\.|\$(?!\{))*", re.DOTALL)
_REGEX = re.compile(r"/(?:[^\\/\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\]?)*/?[\w$]*")
_IDENTIFIER = re.compile(r"(?:[^\W\d]|[$\\\u0080-\uffff])[\w$\\\u0080-\uffff]*")


@dataclass(frozen=True)
class _Token:
    kind: str  # ident | punct | string | template | regex | number
    value: str
    start: int
    end: int
    depth: int  # open (, [, {, ${ before this token
    newline_before: bool


@dataclass(frozen=True)
class PreparedSource:
    """The author's code rewritten for the engine (`body`, same lines) and wrapped (`wrapped`)."""

    body: str
    wrapped: str
    line_count: int


def prepare(code: str) -> PreparedSource:
    """Rewrite `export default` and friends; raise `CompileError` for what the sandbox does not support."""
    if not isinstance(code, str):
        raise CompileError("Workflow code must be a string")
    if len(code) > MAX_SOURCE_CHARS:
        raise CompileError(f"Workflow code is too large ({len(code)} characters; the limit is {MAX_SOURCE_CHARS})")
    if "\x00" in code:
        raise CompileError("Workflow code contains a NUL character", *_position(code, code.index("\x00")))
    tokens = _tokenize(code)
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    if code.startswith("#!"):
        edits.append((0, 2, "//"))  # a hashbang is only legal at the very start, which the wrapper is not
    tail = ""
    default_seen: _Token | None = None
    for index, token in enumerate(tokens):
        if token.kind != "ident" or token.depth != 0 or token.value not in ("import", "export"):
            continue
        previous = tokens[index - 1] if index else None
        if previous is not None and previous.kind == "punct" and previous.value in (".", "?."):
            continue  # a property called `import`/`export`
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token.value == "import":
            if following is not None and following.value in ("(", "."):
                continue  # `import(...)` fails at run time; `import.meta` is harmless
            raise CompileError(
                "Imports are not supported: a workflow is a single file. Use the runtime API "
                "(fastn.connector, fastn.db, fastn.state, fastn.secrets) instead of modules.",
                *_position(code, token.start),
            )
        if following is not None and following.kind == "ident" and following.value == "default":
            if default_seen is not None:
                raise CompileError("A workflow can have only one `export default`", *_position(code, token.start))
            default_seen = token
            tail = _rewrite_default(tokens, index, edits)
        elif following is not None and following.kind == "ident" and following.value in _DECLARATION_KEYWORDS:
            edits.append((token.start, token.end, " " * len("export")))  # a named export is just a declaration here
        else:
            raise CompileError(
                "Only `export default` is supported: a workflow exports one function, "
                "e.g. `export default async function (ctx) { … }`",
                *_position(code, token.start),
            )
    if default_seen is None:
        raise CompileError(
            "No `export default` found: a workflow must export its function, "
            "e.g. `export default async function (ctx) { … }`"
        )
    body = code
    for start, end, replacement in sorted(edits, reverse=True):
        body = body[:start] + replacement + body[end:]
    body += tail
    return PreparedSource(
        body=body,
        wrapped=WRAPPER_PREFIX + body + WRAPPER_SUFFIX,
        line_count=code.count("\n") + 1,
    )


def _rewrite_default(tokens: list[_Token], index: int, edits: list[tuple[int, int, str]]) -> str:
    """Queue the edits for the `export default` at `tokens[index]`; return text to append, if any."""
    export, default = tokens[index], tokens[index + 1]
    rest = tokens[index + 2 :]
    keyword_at = None
    if rest and rest[0].value in ("function", "class"):
        keyword_at = index + 2
    elif len(rest) > 1 and rest[0].value == "async" and rest[1].value == "function" and not rest[1].newline_before:
        keyword_at = index + 3
    if keyword_at is None:
        # `export default <expression>`: the assignment needs the same
        # semicolon (or ASI) the original did.
        edits.append((export.start, export.end, _DEFAULT_TARGET))
        edits.append((default.start, default.end, _DEFAULT_ASSIGN))
        return ""
    name_at = keyword_at + 1
    if name_at < len(tokens) and tokens[name_at].value == "*":
        name_at += 1  # generator
    name = tokens[name_at] if name_at < len(tokens) else None
    if name is not None and name.kind == "ident" and name.value != "extends":
        # A named declaration keeps its binding (and hoisting): blank the two
        # keywords and hand the name over at the end.
        edits.append((export.start, export.end, " " * len("export")))
        edits.append((default.start, default.end, " " * len("default")))
        return f"\n;{EXPORTS_PARAM}.d={name.value};"
    # An anonymous declaration becomes an expression; end it with `;` so a
    # following line that starts with `(` or `[` is not read as a call.
    edits.append((export.start, export.end, _DEFAULT_TARGET))
    edits.append((default.start, default.end, _DEFAULT_ASSIGN))
    body_end = _declaration_body_end(tokens, keyword_at)
    if body_end is not None:
        edits.append((body_end, body_end, ";"))
    return ""


def _declaration_body_end(tokens: list[_Token], keyword_at: int) -> int | None:
    """Offset just past the `}` closing the function/class body that starts after `tokens[keyword_at]`."""
    level = tokens[keyword_at].depth
    is_function = tokens[keyword_at].value == "function"
    index = keyword_at + 1
    if is_function:
        while index < len(tokens) and tokens[index].value != "(":
            index += 1
        index = _matching_close(tokens, index)
        if index is None:
            return None
        index += 1
    while index < len(tokens) and not (tokens[index].value == "{" and tokens[index].depth == level):
        index += 1
    close = _matching_close(tokens, index)
    return tokens[close].end if close is not None else None


def _matching_close(tokens: list[_Token], open_at: int) -> int | None:
    if open_at >= len(tokens):
        return None
    inner = tokens[open_at].depth + 1
    closer = {"(": ")", "{": "}", "[": "]"}[tokens[open_at].value]
    for index in range(open_at + 1, len(tokens)):
        if tokens[index].value == closer and tokens[index].depth == inner:
            return index
    return None


def _position(code: str, offset: int) -> tuple[int, int]:
    line = code.count("\n", 0, offset) + 1
    column = offset - (code.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _regex_allowed(previous: _Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind == "punct":
        # After `}` a block ended more often than an object literal did.
        return previous.value not in (")", "]", "++", "--")
    if previous.kind == "ident":
        return previous.value in _KEYWORDS_BEFORE_EXPRESSION
    return False


def _tokenize(code: str) -> list[_Token]:
    """Split `code` into tokens, tracking nesting depth. Never raises: odd input is QuickJS's to reject."""
    tokens: list[_Token] = []
    stack: list[str] = []  # "(", "[", "{" or "${" (a template substitution)
    length = len(code)
    position = 0
    newline = False
    if code.startswith("#!"):
        position = code.find("\n") if "\n" in code else length

    def add(kind: str, start: int, end: int) -> None:
        nonlocal newline
        tokens.append(_Token(kind, code[start:end], start, end, len(stack), newline))
        newline = False

    def scan_template(start: int) -> int:
        """From `start` (after ` or }), return the offset just past the closing ` or a `${`."""
        end = _TEMPLATE_CHARS.match(code, start).end()
        if code.startswith("${", end):
            stack.append("${")
            return end + 2
        return min(end + 1, length)

    while position < length:
        char = code[position]
        if char in _SPACE_CHARS:
            end = _SPACE.match(code, position).end()
            newline = newline or _LINE_BREAK.search(code, position, end) is not None
            position = end
        elif code.startswith("//", position):
            end = code.find("\n", position)
            position = length if end < 0 else end
        elif code.startswith("/*", position):
            end = code.find("*/", position + 2)
            comment_end = length if end < 0 else end + 2
            newline = newline or _LINE_BREAK.search(code, position, comment_end) is not None
            position = comment_end
        elif char in "'\"":
            end = _STRINGS[char].match(code, position).end()
            add("string", position, end)
            position = end
        elif char == "`":
            end = scan_template(position + 1)
            add("template", position, end)
            position = end
        elif char == "}" and stack and stack[-1] == "${":
            stack.pop()
            end = scan_template(position + 1)
            add("template", position, end)
            position = end
        elif char == "/" and _regex_allowed(tokens[-1] if tokens else None):
            end = _REGEX.match(code, position).end()
            add("regex", position, end)
            position = end
        elif (match := _IDENTIFIER.match(code, position)) is not None:
            add("ident", position, match.end())
            position = match.end()
        elif char.isdigit() or (char == "." and code[position + 1 : position + 2].isdigit()):
            match = _NUMBER.match(code, position)
            end = match.end() if match and match.end() > position else position + 1
            add("number", position, end)
            position = end
        elif char in "([{":
            add("punct", position, position + 1)
            stack.append(char)
            position += 1
        elif char in ")]}":
            add("punct", position, position + 1)  # depth of a closer = depth inside it
            if stack and stack[-1] != "${":
                stack.pop()
            position += 1
        else:
            pair = code[position : position + 2]
            if pair in _PUNCTUATORS_2 and not (pair == "?." and code[position + 2 : position + 3].isdigit()):
                add("punct", position, position + 2)
                position += 2
            else:
                add("punct", position, position + 1)
                position += 1
    return tokens
