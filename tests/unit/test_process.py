import pytest

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import LifeboatError
from ansible_collections.lifeboat.dr.plugins.module_utils import process


def test_pipeline_streams_to_sink_and_records_commands():
    runner = process.Runner()
    chunks = []
    runner.pipeline([["printf", "hello world"], ["tr", "a-z", "A-Z"]], sink=chunks.append)
    assert b"".join(chunks) == b"HELLO WORLD"
    assert runner.executed == ["printf 'hello world' | tr a-z A-Z"]


def test_failure_names_the_reader_not_the_sigpipe_victim():
    runner = process.Runner()
    with pytest.raises(LifeboatError) as err:
        runner.pipeline([["yes"], ["sh", "-c", "head -c1 >/dev/null; echo broken reader >&2; exit 3"]])
    assert "sh failed (exit code 3): broken reader" in str(err.value)


def test_secrets_passed_in_env_never_reach_the_record():
    runner = process.Runner()
    out = runner.run(["sh", "-c", 'printf %s "$SECRET"'], env={"SECRET": "s3cr3t"})
    assert out == b"s3cr3t"
    assert "s3cr3t" not in " ".join(runner.executed)


def test_missing_program_is_a_clear_error():
    with pytest.raises(LifeboatError, match="'no-such-tool' was not found"):
        process.Runner().binary("no-such-tool")


@pytest.mark.parametrize("algorithm", ["zstd", "gzip", "none"])
def test_compress_then_decompress_is_identity(tmp_path, algorithm):
    runner = process.Runner()
    payload = bytes(range(256)) * 1000
    src = tmp_path / "in"
    src.write_bytes(payload)
    packed = tmp_path / "packed"
    level = process.check_level(algorithm, None)
    compress = process.compressor_argv(runner, algorithm, level)
    with open(packed, "wb") as handle:
        if compress:
            runner.pipeline([compress + [str(src)]], sink=handle.write)
        else:
            handle.write(payload)
    assert runner.run(process.decompressor_argv(runner, algorithm, str(packed))) == payload


def test_levels_are_checked():
    assert process.check_level("zstd", None) == 3
    with pytest.raises(LifeboatError, match="out of range 1-9"):
        process.check_level("gzip", 12)


def test_reader_that_stops_early_on_purpose_is_not_a_failure():
    out = process.Runner().pipeline([["yes"], ["head", "-c", "4"]], capture=True)
    assert out == b"y\ny\n"


def test_tap_sees_the_stream_between_two_commands():
    runner = process.Runner()
    seen, out = [], []
    runner.pipeline([["printf", "abc"], ["tr", "a-z", "A-Z"]], sink=out.append, tap=(0, seen.append))
    assert b"".join(seen) == b"abc" and b"".join(out) == b"ABC"


def test_tap_on_the_last_command_sees_what_the_sink_gets():
    runner = process.Runner()
    seen = []
    assert runner.pipeline([["printf", "xyz"]], capture=True, tap=(0, seen.append)) == b"xyz"
    assert b"".join(seen) == b"xyz"


def test_a_failing_tap_fails_the_pipeline():
    def refuse(_chunk):
        raise LifeboatError("tap refused the stream")

    runner = process.Runner()
    with pytest.raises(LifeboatError, match="tap refused"):
        runner.pipeline([["yes"], ["cat"]], sink=lambda chunk: None, tap=(0, refuse))
