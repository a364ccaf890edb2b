import errno

import pytest
import tensorflow as tf

from keras_deblur import cli


def _raising(error):
    def main(argv):
        raise error

    return main


def test_a_full_or_read_only_disk_is_one_error_line(capsys):
    assert (
        cli.call_reporting_errors(
            _raising(OSError(errno.ENOSPC, "No space left", "/runs/a/x.png")), []
        )
        == 1
    )
    assert capsys.readouterr().err.startswith(
        "error: cannot write /runs/a/x.png: the disk is full; free space"
    )
    saving = tf.errors.ResourceExhaustedError(
        None,
        None,
        "{{function_node __wrapped__SaveV2_dtypes_158}} /runs/a/ckpt-20_temp/part; No space left "
        "on "
        "device [Op:SaveV2]",
    )
    assert cli.call_reporting_errors(_raising(saving), []) == 1
    assert capsys.readouterr().err.startswith(
        "error: cannot write /runs/a/ckpt-20_temp/part; No space left on device; "
    )

    def wrapped(argv):
        try:
            raise OSError(errno.EROFS, "Read-only file system", "/ro/model.keras")
        except OSError as error:
            raise RuntimeError("saving failed") from error

    assert cli.call_reporting_errors(wrapped, []) == 1
    assert "cannot write /ro/model.keras: the file system is read-only" in capsys.readouterr().err


def test_other_errors_keep_their_traceback():
    with pytest.raises(RuntimeError, match="a bug"):
        cli.call_reporting_errors(_raising(RuntimeError("a bug")), [])
    with pytest.raises(tf.errors.ResourceExhaustedError):
        cli.call_reporting_errors(
            _raising(tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")), []
        )


def test_ctrl_c_is_one_line_and_the_shells_status(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    assert cli.call_reporting_errors(interrupted, []) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: interrupted (Ctrl-C)")


def test_a_file_where_a_folder_belongs_is_one_error_line(capsys):
    not_a_folder = NotADirectoryError(errno.ENOTDIR, "Not a directory", "out/figures")
    assert cli.call_reporting_errors(_raising(not_a_folder), []) == 1
    assert capsys.readouterr().err == "error: [Errno 20] Not a directory: 'out/figures'\n"
    saving = tf.errors.FailedPreconditionError(
        None, None, "{{function_node __wrapped__SaveV2}} out is not a directory [Op:SaveV2]"
    )
    assert cli.call_reporting_errors(_raising(saving), []) == 1
    assert capsys.readouterr().err == "error: out is not a directory\n"


def test_a_bad_or_missing_flag_is_one_error_line():
    from tests.commands import run_module

    bad = run_module("keras_deblur.train", "--run_dir=/nonexistent/r", "--learning_rate=abc")
    missing = run_module("keras_deblur.train", "--experiment=tiny")
    no_flagfile = run_module("keras_deblur.train", "--flagfile=/nonexistent/x.flags")
    for result, line in (
        (bad, "error: flag --learning_rate=abc: could not convert string to float: 'abc'"),
        (missing, "error: flag --run_dir=None: Flag --run_dir must have a value other than None."),
        (
            no_flagfile,
            "error: Unable to open flagfile: [Errno 2] No such file or directory: "
            "'/nonexistent/x.flags'",
        ),
    ):
        assert result.returncode == 1
        assert result.stderr.strip() == f"{line} (--help lists the flags)", result.stderr


def test_a_flag_the_command_does_not_read_is_one_error_line(tmp_path):
    """Every command parses all of the package's flags; one that does nothing there (the pipeline
    trains under --pipeline_root) was ignored without a word."""
    from tests.commands import run_module

    pipeline = run_module(
        "pipelines.run",
        f"--data_dir={tmp_path}",
        f"--pipeline_root={tmp_path}/p",
        f"--run_dir={tmp_path}/r",
    )
    deblur = run_module(
        "keras_deblur.deblur",
        f"--input={tmp_path}/x.png",
        f"--output_dir={tmp_path}/o",
        "--train_steps=5",
        "--learning_rate=1e-3",
    )
    for result, line in (
        (pipeline, "error: --run_dir: this command does not read it; remove it"),
        (deblur, "error: --learning_rate, --train_steps: this command does not read them; remove"),
    ):
        assert result.returncode == 1
        assert result.stderr.strip().startswith(line), result.stderr
    assert not any(tmp_path.iterdir())  # nothing made: refused before the command ran


def test_tensorflows_messages_lose_the_ops_internals():
    from keras_deblur.errors import op_message

    message = "{{function_node __wrapped__DecodePng_device_/job:0}} Invalid PNG data [Op:DecodePng]"
    assert op_message(message) == "Invalid PNG data"
