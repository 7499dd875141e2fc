#!/usr/bin/env python3
"""Measures the house-style limits (issue 17): files under 800 lines, function
bodies under 60 lines.

  scripts/shape.py [--max-file 800] [--max-function 60] DIR...

Walks the C++ files (.h, .cc) under each DIR and prints every file longer than
--max-file lines and every function body longer than --max-function lines
(from the line of its opening brace to the line of its closing one, both
counted, so a body of 58 lines between them counts 60). Exit code 1 when
anything is over a limit.

How a function is found: the source is scanned with comments, string and
character literals blanked out; braces of `namespace`, `class`, `struct`,
`union`, `enum` and `extern "C"` blocks are transparent; any other `{` met at
the outermost remaining level whose preceding code ends with `)` (optionally
followed by const, override, final, noexcept, a trailing return type or a
constructor's member initializers) starts a function body, which ends at its
matching `}`. Lambdas and local classes count as part of their enclosing
function. Brace initializers at namespace scope (`T x{...}`, `= {...}`) are
not functions.
"""

import argparse
import os
import re
import sys

TRANSPARENT = re.compile(
    r'(\bnamespace\b[^;{}()]*|\b(class|struct|union|enum)\b[^;{}()]*|extern\s*"C"\s*)$')


def blank(src):
    """Comments and literals replaced by spaces, newlines kept."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', src[i:j]))
            i = j
        elif src.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', src[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ')' + m.group(1) + '"'
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r'[^\n]', ' ', src[i:j]))
            i = j
        elif c == "'" and i > 0 and src[i - 1].isalnum() and \
                i + 1 < n and src[i + 1].isalnum():
            out.append(c)  # a digit separator: 100'000
            i += 1
        elif c in '"\'':
            j = i + 1
            while j < n and src[j] != c and src[j] != '\n':
                j += 2 if src[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + ' ' * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def functions(src):
    """(name, first line, last line) of each function body."""
    code = blank(src)
    stack = []  # for each open brace: 'T' transparent, 'F' function, 'O' other
    result = []
    seg_start = 0  # where the code since the last ; { } starts
    for i, c in enumerate(code):
        if c == '{':
            head = code[seg_start:i].strip()
            outer = all(k[0] == 'T' for k in stack)
            if outer and TRANSPARENT.search(head) and '=' not in head:
                stack.append(('T', i))
            elif outer and is_function_head(head):
                stack.append(('F', i, name_of(head)))
            else:
                stack.append(('O', i))
            seg_start = i + 1
        elif c == '}':
            if stack:
                top = stack.pop()
                if top[0] == 'F':
                    first = code.count('\n', 0, top[1]) + 1
                    last = code.count('\n', 0, i) + 1
                    result.append((top[2], first, last))
            seg_start = i + 1
        elif c == ';':
            seg_start = i + 1
    return result


def is_function_head(head):
    if not head or head.endswith('=') or head.endswith(','):
        return False
    # A constructor's initializer list: "X::X(...) : a_(b), c_{d}" — only
    # the part before the first top-level ':' that follows ')' matters.
    h = re.sub(r'\s+', ' ', head)
    h = re.sub(r'\)\s*:\s*[^;]*$', ')', h)
    h = re.sub(r'(\s*\b(const|override|final|noexcept|mutable)\b)+\s*$', '', h)
    h = re.sub(r'\s*->\s*[\w:<>,\s*&]+$', '', h)
    return h.endswith(')') and '(' in h and not re.search(r'=\s*\[', h)


def name_of(head):
    h = re.sub(r'\s+', ' ', head)
    m = re.search(r'([~\w:]+)\s*\(', h)
    return m.group(1) if m else '?'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--max-file', type=int, default=800)
    ap.add_argument('--max-function', type=int, default=60)
    ap.add_argument('dirs', nargs='+')
    args = ap.parse_args()
    over = 0
    files = 0
    bodies = 0
    for d in args.dirs:
        for root, _, names in os.walk(d):
            for name in sorted(names):
                if not name.endswith(('.h', '.cc')):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding='utf-8') as f:
                    src = f.read()
                files += 1
                lines = src.count('\n')
                if lines > args.max_file:
                    print(f'{path}: {lines} lines (file limit {args.max_file})')
                    over += 1
                for fn, first, last in functions(src):
                    bodies += 1
                    length = last - first + 1
                    if length > args.max_function:
                        print(f'{path}:{first}: {fn} {length} lines '
                              f'(function limit {args.max_function})')
                        over += 1
    print(f'shape: {files} files, {bodies} function bodies, {over} over a limit')
    return 1 if over else 0


if __name__ == '__main__':
    sys.exit(main())
