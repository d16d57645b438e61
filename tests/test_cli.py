"""The command line: help that explains, clear errors with non-zero exits, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from sro_analysis import __version__
from sro_analysis.cli import main

COMMANDS = ["fetch", "clean", "publish", "report", "bench"]


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for cmd in COMMANDS:
        assert cmd in result.output


@pytest.mark.parametrize("cmd", COMMANDS)
def test_each_command_explains_itself(cmd):
    result = CliRunner().invoke(main, [cmd, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert len(result.output.splitlines()) > 5


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_missing_raw_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["clean", "--source", "chicago", "--raw", str(tmp_path / "nope"),
                                       "--out", str(tmp_path / "ds")])
    assert result.exit_code == 1
    assert f"raw folder {tmp_path / 'nope'} does not exist" in result.output
    assert "Traceback" not in result.output


def test_chicago_needs_a_raw_folder(tmp_path):
    result = CliRunner().invoke(main, ["clean", "--source", "chicago", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 1 and "--source chicago needs --raw DIR" in result.output


def test_mapped_needs_a_mapping(tmp_path):
    result = CliRunner().invoke(main, ["clean", "--source", "mapped", "--raw", str(tmp_path), "--out", str(tmp_path / "ds")])
    assert result.exit_code == 1 and "--source mapped needs --mapping FILE.yaml" in result.output


def test_console_script_runs_in_a_real_process():
    out = subprocess.run([sys.executable, "-m", "sro_analysis.cli", "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "alternatives-to-arrest" in out.stdout


def test_clean_is_the_callable_package_in_a_fresh_process():
    """`from sro_analysis import clean` (what the clean command does) is the package, whatever was imported first.

    It used to be the function when nothing had imported the subpackage yet, and `sro-analysis clean`
    then failed with "'function' object has no attribute 'clean'" (in-suite runs hid it).
    """
    code = ("from sro_analysis import clean; import sro_analysis as sro; import sro_analysis.clean as pkg; "
            "assert clean is sro.clean is pkg and callable(clean) and clean.clean.__module__ == 'sro_analysis.clean'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
