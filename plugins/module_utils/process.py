# -*- coding: utf-8 -*-
# Copyright: Lifeboat contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running external tools: pipelines, compression programs, recorded commands.

Secrets never go on a command line: callers pass them in ``env``. Every
argv that ran is recorded in ``Runner.executed`` for ``executed_commands``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading

from ansible_collections.lifeboat.dr.plugins.module_utils.backup_files import CHUNK, LifeboatError

COMPRESSIONS = ("zstd", "gzip", "none")
DEFAULT_LEVELS = {"zstd": 3, "gzip": 6, "none": 0}
EXTENSIONS = {"zstd": ".zst", "gzip": ".gz", "none": ""}


class Runner:
    """Finds binaries and runs commands, keeping the list of what ran."""

    def __init__(self, bin_path=None, env=None):
        self._bin_path = bin_path or _which
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.executed = []

    def binary(self, name):
        return self._bin_path(name, True)

    def optional_binary(self, name):
        return self._bin_path(name, False)

    def record(self, argvs):
        self.executed.append(" | ".join(" ".join(shlex.quote(str(arg)) for arg in argv) for argv in argvs))

    def run(self, argv, input_bytes=None, env=None):
        """Run one command to completion and return its stdout; raise on failure."""
        return self.pipeline([argv], input_bytes=input_bytes, env=env, capture=True)

    def pipeline(self, argvs, sink=None, capture=False, input_bytes=None, env=None, stderr_sink=None, tap=None):
        """Run ``argvs`` connected stdout->stdin.

        The last command's output goes to ``sink(chunk)``, is returned when
        ``capture`` is true, or is discarded. ``stderr_sink(index, text)``
        receives each command's error output after a successful run. Any
        command failing raises LifeboatError with the stderr of the command
        that failed first in the chain (upstream SIGPIPE deaths are the
        consequence, not the cause). ``tap=(index, callback)`` shows every
        chunk that command ``index`` writes to ``callback`` on its way to the
        next command; an exception in the callback fails the pipeline.
        """
        self.record(argvs)
        run_env = dict(self.env)
        run_env.update(env or {})
        tap_index, tap_callback = tap if tap is not None else (None, None)
        final_tap = None
        if tap_index == len(argvs) - 1:
            final_tap, tap_index = tap_callback, None
        procs, errors, pumps, tap_failures = [], [], [], []
        prev = subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL
        collected = []
        try:
            for index, argv in enumerate(argvs):
                last = index == len(argvs) - 1
                err = tempfile.TemporaryFile()
                errors.append(err)
                tapped = tap_index is not None and index == tap_index + 1
                proc = subprocess.Popen(
                    [str(arg) for arg in argv], stdin=subprocess.PIPE if tapped else prev, env=run_env, stderr=err,
                    stdout=subprocess.PIPE if (not last or sink or capture or final_tap) else subprocess.DEVNULL,
                    preexec_fn=_restore_sigpipe)
                if tapped:
                    pumps.append(threading.Thread(target=_pump, args=(prev, proc.stdin, tap_callback, tap_failures)))
                elif index > 0:
                    prev.close()
                prev = proc.stdout
                procs.append(proc)
            for pump in pumps:
                pump.start()
            if input_bytes is not None:
                _feed(procs[0], input_bytes)
            out = procs[-1].stdout
            if out is not None:
                for chunk in iter(lambda: out.read(CHUNK), b""):
                    if final_tap is not None:
                        final_tap(chunk)
                    if sink is not None:
                        sink(chunk)
                    elif capture:
                        collected.append(chunk)
                out.close()
            for pump in pumps:
                pump.join()
            codes = [proc.wait() for proc in procs]
        except BaseException:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for pump in pumps:
                if pump.is_alive():
                    pump.join()
            raise
        if tap_failures:
            for err in errors:
                err.close()
            raise tap_failures[0]
        failure = _first_failure(argvs, codes, errors)
        for index, err in enumerate(errors):
            if stderr_sink is not None and not failure:
                err.seek(0)
                stderr_sink(index, err.read().decode("utf-8", "replace"))
            err.close()
        if failure:
            raise LifeboatError(failure)
        return b"".join(collected)


def _pump(source, target, callback, failures):
    try:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            callback(chunk)
            target.write(chunk)
    except BrokenPipeError:
        pass  # the reader died; its own exit status tells why
    except BaseException as exc:  # pylint: disable=broad-except
        failures.append(exc)
    finally:
        source.close()
        try:
            target.close()
        except BrokenPipeError:
            pass


def _restore_sigpipe():
    # Python ignores SIGPIPE; children must not, or a failed reader leaves writers hanging.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _feed(proc, data):
    try:
        proc.stdin.write(data)
    except BrokenPipeError:
        pass
    finally:
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass


def _first_failure(argvs, codes, errors):
    failed = []
    for index, code in enumerate(codes):
        # A writer killed by SIGPIPE is fine when every reader after it succeeded
        # (the reader had read all it needed); otherwise it is only a consequence.
        if code == -signal.SIGPIPE and all(later == 0 for later in codes[index + 1:]):
            continue
        if code != 0:
            failed.append(index)
    if not failed:
        return None
    real = [i for i in failed if codes[i] != -signal.SIGPIPE] or failed
    index = real[0]
    errors[index].seek(0)
    stderr = errors[index].read().decode("utf-8", "replace").strip()
    name = os.path.basename(str(argvs[index][0]))
    code = codes[index]
    why = ("killed by signal %d" % -code) if code < 0 else ("exit code %d" % code)
    return "%s failed (%s): %s" % (name, why, stderr or "no error output")


def _which(name, required):
    path = shutil.which(name)
    if not path and required:
        raise LifeboatError("required program %r was not found in PATH" % name)
    return path


def compressor_argv(runner, algorithm, level, threads=0):
    """The command that compresses stdin to stdout, or None for no compression."""
    if algorithm == "none":
        return None
    if algorithm == "zstd":
        return [runner.binary("zstd"), "-q", "-c", "-%d" % level, "-T%d" % threads]
    if algorithm == "gzip":
        pigz = runner.optional_binary("pigz")
        if pigz:
            return [pigz, "-c", "-%d" % level] + (["-p", str(threads)] if threads else [])
        return [runner.binary("gzip"), "-c", "-%d" % level]
    raise LifeboatError("unknown compression %r (expected one of %s)" % (algorithm, ", ".join(COMPRESSIONS)))


def decompressor_argv(runner, algorithm, path=None):
    """The command that writes the decompressed ``path`` (or stdin) to stdout."""
    tail = [path] if path else []
    if algorithm == "zstd":
        return [runner.binary("zstd"), "-q", "-d", "-c"] + tail
    if algorithm == "gzip":
        return [runner.binary("gzip"), "-d", "-c"] + tail
    if algorithm == "none":
        return [runner.binary("cat")] + tail
    raise LifeboatError("unknown compression %r" % (algorithm,))


def writer_stages(runner, compression, level, threads=0, encryption=None):
    """The stages a plain stream goes through before it is stored: compress, then encrypt."""
    stages = [compressor_argv(runner, compression, level, threads)]
    stages.append(encryption.writer_argv() if encryption is not None else None)
    return [stage for stage in stages if stage]


def reader_stages(runner, compression, path, encryption=None):
    """The stages that turn the stored ``path`` back into the plain stream: decrypt, then decompress."""
    decrypt = encryption.reader_argv(path) if encryption is not None and encryption.enabled else None
    if decrypt:
        return [decrypt, decompressor_argv(runner, compression)]
    return [decompressor_argv(runner, compression, path)]


def check_level(algorithm, level):
    if level is None:
        return DEFAULT_LEVELS[algorithm]
    bounds = {"zstd": (1, 19), "gzip": (1, 9), "none": (0, 0)}[algorithm]
    if not bounds[0] <= level <= bounds[1]:
        raise LifeboatError("compression level %d is out of range %d-%d for %s" % (level, bounds[0], bounds[1], algorithm))
    return level
