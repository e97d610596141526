"""The signal table's matching rules (plugins/module_utils/_signals.py says them), applied to recorded events.

Pure functions over the recorder's JSON events (tests/cluster/recorder.py); the end-to-end test feeds them the
victim's events of one technique's window, tests/harness unit-tests them on recorded samples.
"""
import os
import re

PLACEHOLDER = re.compile(r"(<[A-Za-z0-9_]+\??>)")


def text_pattern(expected, suffixes=("",)):
    """A regex for an expected argument or path: each <placeholder> stands for non-empty text, each <placeholder?>
    for any text (empty too: what a service that did not answer gave), then a suffix."""
    parts = PLACEHOLDER.split(expected)  # literal, placeholder, literal, ...
    body = "".join(re.escape(part) if index % 2 == 0 else ("(?:.*)" if part.endswith("?>") else "(?:.+)")
                   for index, part in enumerate(parts))
    tail = "|".join(re.escape(s) for s in suffixes)
    return re.compile("^%s(?:%s)$" % (body, tail), re.DOTALL)


def in_order(expected, observed, suffixes_at=None):
    """Whether `expected` arguments appear in `observed` in the same order (others may come between).

    `suffixes_at` maps an index of `expected` to the suffixes allowed after that element (the web shell's own)."""
    suffixes_at = suffixes_at or {}
    position = 0
    for index, want in enumerate(expected):
        pattern = text_pattern(want, suffixes_at.get(index, ("",)))
        while position < len(observed) and not pattern.match(observed[position]):
            position += 1
        if position == len(observed):
            return False
        position += 1
    return True


def exec_matches(row, event, web_shell_suffixes=("",)):
    """An observed exec matches a row's exec: the program (path when absolute, else basename), then the arguments
    in order; the argument after `sh -c` may end with one of the web shell's suffixes."""
    if event.get("event") != "exec":
        return False
    program, args = row["argv"][0], row["argv"][1:]
    filename = event.get("filename") or ""
    if program.startswith("/"):
        if filename != program:
            return False
    elif os.path.basename(filename) != program:
        return False
    suffixes_at = {}
    if program == "sh" and args[:1] == ["-c"] and len(args) > 1:
        suffixes_at[1] = tuple(web_shell_suffixes)
    return in_order(args, event.get("argv", [])[1:], suffixes_at)


def open_matches(row, event):
    return event.get("event") == "open" and bool(text_pattern(row["path"]).match(event.get("path", "")))


def connect_matches(row, event, addresses):
    """`addresses`: the IPs the row's address stands for (a name resolved in the cluster, or the IP itself)."""
    return (event.get("event") == "connect" and event.get("port") == row["port"]
            and event.get("address") in addresses)


def matches(row, event, resolve, web_shell_suffixes=("",)):
    if row["event"] == "exec":
        return exec_matches(row, event, web_shell_suffixes)
    if row["event"] == "open":
        return open_matches(row, event)
    if row["event"] == "connect":
        return connect_matches(row, event, resolve(row["address"]))
    raise ValueError("unknown signal event kind %r" % row["event"])


def check_row(rows, events, resolve, descends, web_shell_suffixes=("",)):
    """For each row event, the first observed event that matches it and descends from the web server (`descends`),
    or None. `events`: the victim's events of the technique's window, oldest first."""
    found = []
    for row in rows:
        found.append(next((e for e in events
                           if matches(row, e, resolve, web_shell_suffixes) and descends(e)), None))
    return found


def describe(row):
    """One line for a row event, placeholders as they are."""
    if row["event"] == "exec":
        return "exec " + " ".join(_quote(a) for a in row["argv"])
    if row["event"] == "open":
        return "open " + row["path"]
    return "connect %s:%s" % (row["address"], row["port"])


def describe_observed(event, redact=lambda text: text, limit=160):
    """One line for an observed event (secrets cut by `redact`, long lines cut at `limit`)."""
    if event["event"] == "exec":
        what = "exec %s: %s" % (event.get("filename"), " ".join(_quote(a) for a in event.get("argv", [])))
    elif event["event"] == "open":
        what = "open %s (ret %s)" % (event.get("path"), event.get("ret"))
    else:
        what = "connect %s:%s (ret %s)" % (event.get("address"), event.get("port"), event.get("ret"))
    what = redact(what)
    if len(what) > limit:
        what = what[:limit] + "...(%d chars)" % len(what)
    return "%s pid %s %s" % (event.get("time", "?")[11:23], event.get("pid"), what)


# The delivery's base64 text differs per script: compared as a placeholder.
_DELIVERY = re.compile(r"^echo [A-Za-z0-9+/=]+\| base64 -d\| bash")


def normalized(argv, placeholders=()):
    """argv with run-specific values as placeholders: the delivery's base64 text, and each (value, placeholder)."""
    out = []
    for arg in argv:
        arg = _DELIVERY.sub("echo <b64>| base64 -d| bash", arg)
        for value, placeholder in placeholders:
            arg = arg.replace(value, placeholder)
        out.append(arg)
    return out


def reproduces(original, ours, placeholders=()):
    """Our exec reproduces an original exec: the same program file, and the original's arguments first, in the same
    order (ours may add arguments after them, such as a time bound; never replace one)."""
    if original.get("filename") != ours.get("filename"):
        return False
    expected = normalized(original.get("argv", []), placeholders)
    return normalized(ours.get("argv", []), placeholders)[:len(expected)] == expected


def pair_processes(originals, ours, placeholders=()):
    """Each original exec paired with a distinct exec of ours that reproduces it, the closest first (fewest added
    arguments, then the earliest): (pairs, originals not reproduced, ours left over)."""
    free, pairs, missing = list(ours), [], []
    for event in originals:
        candidates = [e for e in free if reproduces(event, e, placeholders)]
        if not candidates:
            missing.append(event)
            continue
        match = min(candidates, key=lambda e: len(e.get("argv", [])))
        free.remove(match)
        pairs.append((event, match))
    return pairs, missing, free


def describe_exec(event):
    """One line for an observed exec: its program file and arguments (not cut: callers cut secrets)."""
    return "%s: %s" % (event.get("filename"), " ".join(_quote(a) for a in event.get("argv", [])))


def _quote(arg):
    return arg if arg and not re.search(r"[\s\"'|;&<>*?$]", arg) else "'%s'" % arg.replace("'", "'\\''")
