"""The CLI's one progress line: only on a terminal, one line rewritten, cleared at the end."""

import io

from sagewatch.progress import TerminalProgress, status_line


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_status_line_names_each_stage_seen():
    assert status_line({"listed": (5000, 5000)}) == "sagewatch: 5,000 endpoints listed"
    line = status_line({"listed": (5000, 5000), "described": (1200, 5000), "metric batches": (3, 95)})
    assert line == "sagewatch: 5,000 endpoints listed, 1,200/5,000 described, metric batches 3/95"


def test_a_terminal_gets_one_rewritten_line_then_a_clean_one():
    tty = Tty()
    progress = TerminalProgress(tty, interval=3600)  # only stage ends get through
    progress("listed", 3, 3)
    progress("described", 1, 3)  # throttled
    progress("described", 3, 3)
    progress.close()
    text = tty.getvalue()
    assert "\n" not in text  # one line, rewritten with \r
    assert text.count("\r\x1b[K") == 3 and "3/3 described" in text and text.endswith("\r\x1b[K")


def test_a_pipe_or_file_gets_nothing():
    pipe = io.StringIO()
    progress = TerminalProgress(pipe, interval=0)
    progress("listed", 3, 3)
    progress("metric batches", 1, 1)
    progress.close()
    assert pipe.getvalue() == ""
