"""Shared by the Python client checks of Strata's end-to-end suite.

Each check prints one line, "ok<TAB>name" or "FAIL<TAB>name<TAB>detail"
(newlines in detail escaped as \\n); e2e/lib/clients.bash turns them into
the suite's ok/FAIL lines. The scripts run under Debian's /usr/bin/python3,
where the Debian client packages are installed, so this stays stdlib-only.
"""

import json
import os
import sys
import time
import traceback

KEYS = 30  # distinct keys, each produced once per producer mode


class Checks:
    def __init__(self, client):
        self.client = client
        self.failed = 0

    def ok(self, name):
        print(f"ok\t{self.client}: {name}", flush=True)

    def fail(self, name, detail=""):
        self.failed += 1
        detail = str(detail).replace("\n", "\\n")
        print(f"FAIL\t{self.client}: {name}\t{detail}", flush=True)

    def expect(self, name, want, got):
        if want == got:
            self.ok(name)
        else:
            self.fail(name, f"want {short(want)}\ngot  {short(got)}")

    def step(self, name, fn, *args, **kwargs):
        """Run fn(*args, **kwargs); an exception fails the check NAME and
        returns None."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 (any client error is a failed check)
            tb = traceback.format_exception_only(type(e), e)[-1].strip()
            self.fail(name, tb)
            return None


def short(v, n=600):
    s = json.dumps(v, default=str, sort_keys=True)
    return s if len(s) <= n else s[:n] + "..."


def records(client, mode):
    """The KEYS keyed records one producer mode sends, as (key, value, headers)
    with str key and value and a list of (str, bytes) headers."""
    return [
        (f"key-{i * 7}", f"{client}-{mode}-{i}", [("client", client.encode()), ("seq", str(i).encode())])
        for i in range(KEYS)
    ]


def header_text(headers):
    """Headers as kcat's %h prints them: k=v,k=v in record order."""
    return ",".join(f"{k}={'' if v is None else v.decode()}" for k, v in headers or [])


def as_line(key, value, headers):
    return f"{key}|{value}|{header_text(headers)}"


def write_produced(outdir, lines):
    """OUTDIR/produced.txt: key|value|headers per record, in produce order, for
    the shell side's kcat cross-check."""
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "produced.txt"), "w") as f:
        f.writelines(line + "\n" for line in lines)


def check_read_back(c, produced, got, parts=3):
    """Compare what was read (got: {partition: [(offset, key, value, headers)]})
    with what was produced (lines in produce order): every record exactly once
    with its key and headers, per partition at offsets 0.. in produce order,
    each key in one partition."""
    read = [as_line(k, v, h) for p in sorted(got) for (_, k, v, h) in got[p]]
    c.expect(
        f"reads back every produced record exactly once ({len(produced)}), with key and headers",
        sorted(produced),
        sorted(read),
    )
    index = {line: i for i, line in enumerate(produced)}
    disorder = []
    key_parts = {}
    for p in sorted(got):
        prev = -1
        for i, (off, k, v, h) in enumerate(got[p]):
            at = index.get(as_line(k, v, h), -1)
            if off != i or at <= prev:
                disorder.append(f"partition {p}: record {i} at offset {off} (produced #{at})")
            prev = at
            key_parts.setdefault(k, set()).add(p)
    c.expect("per partition: offsets 0.. in produce order", [], disorder[:10])
    split = sorted(k for k, ps in key_parts.items() if len(ps) != 1)
    used = set().union(*key_parts.values()) if key_parts else set()
    c.expect("each key in one partition, all 3 used", ([], parts), (split, len(used)))


def now_ms():
    return int(time.time() * 1000)


def main(run, delete):
    """Dispatch: SCRIPT run ADDR TOPIC OUTDIR | SCRIPT delete ADDR TOPIC.
    Exits 1 if a check failed, 2 if the script itself broke (the shell side
    reports that as a failure of its own)."""
    try:
        mode, addr, topic = sys.argv[1:4]
        if mode == "run":
            c = run(addr, topic, sys.argv[4])
        elif mode == "delete":
            c = delete(addr, topic)
        else:
            print(f"unknown mode {mode}", file=sys.stderr)
            sys.exit(2)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
    sys.exit(1 if c.failed else 0)
