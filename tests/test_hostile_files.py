"""Hostile files and paths, and the one error contract every failure follows.

Each row names a situation a careless user or an attacker can create (a FIFO or a device
as input or output, a symlink or hard link to the source, a trailing slash, an over-long
path, a null byte, a form feed inside a line, an unreadable file) and what dpgen must do:
its exit code and the shape of its one-line message. Nothing may hang (a FIFO is never
opened), nothing but a regular file is ever replaced, and no failure is a traceback or an
internal error. `test_every_documented_exit_code` walks 0, 1, 2, 3, 4 and 70 through the
command line and checks each message's shape.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dpgen.cli import main
from dpgen.errors import ExitCode

GOOD = "import numpy as np\n\n\ndef f(x, w):\n    return np.sum(np.tanh(x * w))\n"

LOCATED = re.compile(r"^[^\n]+:\d+:\d+: error: [^\n]+$")
FILE_LEVEL = re.compile(r"^[^\n]+: error: [^\n]+$")
COUNT = re.compile(r"^\d+ errors?; nothing written$")
INTERNAL = re.compile(r"^dpgen: internal error: [^\n]+ \(please report this with the input file\)$")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.py").write_text(GOOD, encoding="utf-8")
    return tmp_path


def run(*args: str):
    """Run the command line in a thread, so a run that blocks (on a FIFO) fails the test."""
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault("result", CliRunner().invoke(main, list(args), prog_name="dpgen")), daemon=True
    )
    thread.start()
    thread.join(timeout=60)
    assert "result" in box, f"dpgen {' '.join(args)!r} hangs"
    return box["result"]


def assert_shape(result, code: int) -> None:
    """The documented exit code and nothing but one-line messages of the contract's shapes."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    if code in (ExitCode.OK, ExitCode.STALE):
        assert lines == [], lines
    elif code == ExitCode.USAGE:
        assert lines[0].startswith("Usage: dpgen") and lines[-1].startswith("Error: ")
    elif code == ExitCode.IO:
        assert len(lines) == 1 and FILE_LEVEL.match(lines[0]) and not LOCATED.match(lines[0]), lines
    elif code == ExitCode.SOURCE:
        assert len(lines) >= 2 and all(LOCATED.match(line) for line in lines[:-1]) and COUNT.match(lines[-1]), lines
    elif code == ExitCode.INTERRUPTED:
        assert lines == ["dpgen: interrupted; nothing written"], lines
    else:
        assert len(lines) == 1 and INTERNAL.match(lines[0]), lines


def snapshot(path: str):
    """What a file system entry is and holds, to prove a failed run left it alone."""
    st = os.lstat(path)
    content = Path(path).read_bytes() if stat.S_ISREG(st.st_mode) else None
    link = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
    return stat.S_IFMT(st.st_mode), st.st_ino, content, link


# -------------------------------------------------------------- the table
# (id, set-up returning the arguments, exit code, text the message must contain)


def fifo(name="pipe"):
    os.mkfifo(name)
    return name


def long_name():
    return "m" * (os.pathconf(".", "PC_NAME_MAX") + 1) + ".py"


def long_path():
    return "d/" * (os.pathconf(".", "PC_PATH_MAX") // 2 + 1) + "model.py"


def hard_link():
    os.link("model.py", "hard.py")
    return ["diff", "model.py", "-o", "hard.py"]


def symlink_to_source():
    os.symlink("model.py", "link.py")
    return ["diff", "model.py", "-o", "link.py"]


def source_through_symlink():
    os.symlink("model.py", "link.py")
    return ["diff", "link.py", "-o", "model.py"]


def form_feed(where):
    def setup():
        Path("ff.py").write_text(where, encoding="utf-8")
        return ["diff", "ff.py"]

    return setup


CASES = [
    ("input FIFO", lambda: ["diff", fifo()], ExitCode.IO, "is a FIFO (named pipe), not a regular file"),
    ("input /dev/zero", lambda: ["diff", "/dev/zero"], ExitCode.IO, "is a character device, not a regular file"),
    ("input /dev/null", lambda: ["diff", "/dev/null"], ExitCode.IO, "is a character device"),
    ("input directory", lambda: [os.mkdir("pkg"), "diff", "pkg"][1:], ExitCode.IO, "is a directory"),
    ("input trailing slash", lambda: ["diff", "model.py/"], ExitCode.IO, "a part of the path is not a directory"),
    ("input too long a name", lambda: ["diff", long_name()], ExitCode.IO, "cannot read: File name too long"),
    ("input too long a path", lambda: ["diff", long_path()], ExitCode.IO, "cannot read"),
    ("input null byte", lambda: ["diff", "mo\0del.py"], ExitCode.IO, "null byte"),
    ("input missing directory", lambda: ["diff", "nowhere/model.py"], ExitCode.IO, "no such file"),
    ("check FIFO", lambda: ["check", fifo()], ExitCode.IO, "is a FIFO"),
    ("check pair with FIFO", lambda: ["check", "model.py", fifo()], ExitCode.IO, "is a FIFO"),
    (
        "output FIFO",
        lambda: ["diff", "model.py", "-o", fifo("out.py")],
        ExitCode.IO,
        "is a FIFO (named pipe), not a regular file; refusing to replace it",
    ),
    ("output trailing slash", lambda: ["diff", "model.py", "-o", "out.py/"], ExitCode.IO, "ends with '/'"),
    (
        "output too long a name",
        lambda: ["diff", "model.py", "-o", long_name()],
        ExitCode.IO,
        "cannot write: File name too long",
    ),
    ("output null byte", lambda: ["diff", "model.py", "-o", "o\0ut.py"], ExitCode.IO, "null byte"),
    ("output missing directory", lambda: ["diff", "model.py", "-o", "nowhere/out.py"], ExitCode.IO, "cannot write"),
    ("output hard link to the source", hard_link, ExitCode.IO, "is the source file"),
    ("output symlink to the source", symlink_to_source, ExitCode.IO, "is the source file"),
    ("source read through a symlink", source_through_symlink, ExitCode.IO, "is the source file"),
    (
        "form feed between tokens",
        form_feed("import numpy as np\n\ndef f(x):\n    return np.sum(x\f* x)\n"),
        ExitCode.SOURCE,
        "ff.py:4:20: error: a form feed inside a line",
    ),
    (
        "form feed in indentation",
        form_feed("def f(x):\n  \f  return x\n"),
        ExitCode.SOURCE,
        "ff.py:2:3: error: a form feed inside a line",
    ),
    ("form feed starting a line", form_feed("\f\ndef f(x):\n    return x * len('a\fb')  # \f\n"), ExitCode.OK, ""),
]


@pytest.mark.parametrize("name, setup, code, message", CASES, ids=[c[0] for c in CASES])
def test_hostile_file(name, setup, code, message):
    args = setup()
    before = {p: snapshot(p) for p in os.listdir(".")}
    result = run(*args)
    assert_shape(result, code)
    assert message in result.stderr
    if code != ExitCode.OK:  # nothing replaced, nothing left behind
        assert {p: snapshot(p) for p in os.listdir(".")} == before


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/full"])
def test_a_device_given_as_output_is_refused_not_replaced(device, monkeypatch):
    """Checked without touching the real devices: os.replace must never be reached."""
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")

    def replace(*args):
        raise AssertionError("dpgen tried to replace a device node")

    monkeypatch.setattr(os, "replace", replace)
    before = os.stat(device)
    result = run("diff", "model.py", "-o", device)
    assert_shape(result, ExitCode.IO)
    assert "is a character device, not a regular file; refusing to replace it" in result.stderr
    after = os.stat(device)
    assert (stat.S_ISCHR(after.st_mode), after.st_ino, after.st_rdev) == (True, before.st_ino, before.st_rdev)
    assert os.listdir(".") == ["model.py"], "no temporary file left behind"


def test_a_symlink_given_as_output_is_followed_and_kept():
    Path("real.py").write_text("old\n")
    os.symlink("real.py", "out.py")
    result = run("diff", "model.py", "-o", "out.py")
    assert_shape(result, ExitCode.OK)
    assert os.readlink("out.py") == "real.py", "the link stays a link"
    assert Path("real.py").read_text().startswith("# Code generated by dpgen")


def test_a_symlink_to_a_fifo_given_as_output_is_refused():
    fifo("pipe")
    os.symlink("pipe", "out.py")
    result = run("diff", "model.py", "-o", "out.py")
    assert_shape(result, ExitCode.IO)
    assert "is a FIFO" in result.stderr
    assert stat.S_ISFIFO(os.stat("pipe").st_mode) and os.readlink("out.py") == "pipe"


def test_an_input_swapped_for_a_fifo_after_stat_is_not_read(monkeypatch):
    """The opened file is checked again: a FIFO put in place between stat and open is refused."""
    import dpgen.frontend.source

    real_stat = os.stat
    fifo("pipe")

    def stat_then_swap(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        if path == "swapped.py" and os.path.exists("pipe"):
            os.replace("pipe", "swapped.py")  # after dpgen looked, before it opens
        return st

    Path("swapped.py").write_text(GOOD)
    monkeypatch.setattr(dpgen.frontend.source.os, "stat", stat_then_swap)
    result = run("diff", "swapped.py")
    assert_shape(result, ExitCode.IO)
    assert "is a FIFO" in result.stderr


def test_an_unreadable_file_is_an_io_error_not_a_usage_error(monkeypatch):
    """Exit 3 with dpgen's own message (click's readable check gave exit 2)."""
    Path("model.py").chmod(0)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # what click asked
    if os.geteuid() == 0:  # root reads anything: make the open fail the way it would for a user
        real_open = os.open

        def denied(path, *args, **kwargs):
            if path == "model.py":
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", denied)
    result = run("diff", "model.py")
    assert_shape(result, ExitCode.IO)
    assert result.stderr == "model.py: error: cannot read: Permission denied\n"


@pytest.mark.parametrize(
    "args",
    [["diff", "locked/model.py"], ["diff", "model.py", "-o", "locked/g.py"], ["check", "locked/model.py", "g.py"]],
)
def test_a_file_in_an_unreadable_directory_is_an_io_error(args, monkeypatch):
    os.mkdir("locked")
    Path("locked/model.py").write_text(GOOD)
    Path("g.py").write_text(run("diff", "model.py").stdout)
    os.chmod("locked", 0)
    if os.geteuid() == 0:  # root passes through: make the calls fail as they would for a user
        for name in ("stat", "open", "lstat"):
            real = getattr(os, name)

            def denied(path, *a, _real=real, **k):
                if str(path).startswith(("locked", os.path.abspath("locked"))):
                    raise PermissionError(errno.EACCES, "Permission denied", path)
                return _real(path, *a, **k)

            monkeypatch.setattr(os, name, denied)
    result = run(*args)
    os.chmod("locked", 0o755)  # (os.chmod is not patched) so the tmp directory can be removed
    assert_shape(result, ExitCode.IO)
    assert "Permission denied" in result.stderr


def test_an_unreadable_existing_output_is_not_a_usage_error(monkeypatch):
    Path("out.py").write_text("old\n")
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    result = run("diff", "model.py", "-o", "out.py")
    assert_shape(result, ExitCode.OK)


@pytest.mark.parametrize("named", ["/etc/hostname", "../model.py", ".."])
def test_check_reads_only_a_bare_file_name_from_the_header(named):
    """A hand-edited header cannot send check to read some other file."""
    text = run("diff", "model.py").stdout
    Path("g.py").write_text(text.replace("from model.py.", f"from {named}.", 1))
    result = run("check", "g.py")
    assert_shape(result, ExitCode.IO)
    assert "not a file name" in result.stderr


def test_a_closed_stdout_is_an_io_error(monkeypatch):
    import click

    def broken(*args, **kwargs):
        if not kwargs.get("err"):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(click, "echo", broken)
    result = run("diff", "model.py")
    assert result.exit_code == ExitCode.IO


# ------------------------------------------------------- the error contract


def test_every_documented_exit_code(monkeypatch):
    """0, 1, 2, 3, 4, 70 and 130 through the command line, each with its message shape."""
    assert sorted(int(c) for c in ExitCode) == [0, 1, 2, 3, 4, 70, 130]
    assert_shape(run("diff", "model.py", "-o", "g.py"), ExitCode.OK)
    assert_shape(run("check", "g.py"), ExitCode.OK)
    Path("model.py").write_text(GOOD.replace("tanh", "sin"))
    stale = run("check", "g.py")
    assert_shape(stale, ExitCode.STALE)
    assert stale.stdout.startswith("g.py: stale (regenerate: dpgen diff model.py -o g.py)")
    assert_shape(run("diff"), ExitCode.USAGE)
    assert_shape(run("diff", "model.py", "--mode", "sideways"), ExitCode.USAGE)
    assert_shape(run("diff", "missing.py"), ExitCode.IO)
    Path("bad.py").write_text("def f(x):\n    try:\n        return x\n    except E:\n        return x\n\ndef g(:\n")
    assert_shape(run("diff", "bad.py"), ExitCode.SOURCE)
    Path("bad.py").write_text(
        "import scipy.special\n\ndef f(x):\n    y = scipy.special.expit(x)\n    while True:\n        try:\n            pass\n        finally:\n            pass\n    return y\n"
    )
    assert_shape(run("diff", "bad.py"), ExitCode.SOURCE)
    monkeypatch.setattr("dpgen.pipeline.reverse", lambda *a, **k: 1 / 0)
    assert_shape(run("diff", "model.py"), ExitCode.INTERNAL)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("dpgen.pipeline.reverse", interrupted)
    before = Path("g.py").read_bytes()
    assert_shape(run("diff", "model.py", "-o", "g.py"), ExitCode.INTERRUPTED)
    assert Path("g.py").read_bytes() == before


class _Hostile(Exception):
    """An exception whose message cannot be formatted."""

    def __str__(self):
        return str(self)  # RecursionError


class _Huge(Exception):
    def __str__(self):
        return "x\n" * 1_000_000


@pytest.mark.parametrize(
    "exc",
    [
        _Hostile(),
        _Huge(),
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
        RuntimeError("a\udcff\u2028b"),
    ],
    ids=["recursive __str__", "huge message", "RecursionError", "MemoryError", "odd characters"],
)
def test_the_internal_error_handler_never_fails(exc, monkeypatch):
    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr("dpgen.pipeline.reverse", broken)
    result = run("diff", "model.py", "-o", "g.py")
    assert_shape(result, ExitCode.INTERNAL)
    assert len(result.stderr) < 500
    assert not Path("g.py").exists()


DEEP = {
    "500 chained .T": "def f(x):\n    return x" + ".T" * 500 + "\n",
    "2000 and terms": "def f(x):\n    if " + " and ".join(["x > 0"] * 2000) + ":\n        return x\n    return x\n",
    "500 nots": "def f(x):\n    if " + "not " * 500 + "x:\n        return x\n    return -x\n",
}


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_input_never_gives_a_traceback(name):
    """Whatever dpgen makes of a deep input (code, a located refusal or an internal error),
    it says so in the contract's shape (these printed 3,600-line tracebacks, exit 1)."""
    Path("deep.py").write_text(DEEP[name])
    result = run("diff", "deep.py")
    assert result.exit_code in (ExitCode.OK, ExitCode.SOURCE, ExitCode.INTERNAL)
    assert_shape(result, result.exit_code)
    if result.exit_code == ExitCode.OK:
        assert result.stderr == ""


def test_deep_recursion_in_a_pass_is_an_internal_error_on_one_line(monkeypatch):
    def recurse(*args, **kwargs):
        return recurse(*args, **kwargs)

    monkeypatch.setattr("dpgen.pipeline.reverse", recurse)
    result = run("diff", "model.py")
    assert_shape(result, ExitCode.INTERNAL)
    assert "RecursionError" in result.stderr


def test_messages_stay_on_one_line_whatever_the_file_name():
    name = "a\nb\u2028c\rd.py"
    result = run("diff", name)
    assert_shape(result, ExitCode.IO)
    assert result.stderr == "a\\nb\\u2028c\\rd.py: error: no such file\n"
    Path(name).write_text("def f(x):\n    try:\n        return x\n    except E:\n        return x\n")
    result = run("diff", name)
    assert_shape(result, ExitCode.SOURCE)
    assert result.stderr.startswith("a\\nb\\u2028c\\rd.py:2:5: error: ")


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")
def test_no_file_descriptor_is_leaked():
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        run("diff", "model.py", "-o", "g.py")
        run("diff", fifo(f"p{_}"))
    assert len(os.listdir("/proc/self/fd")) <= before
