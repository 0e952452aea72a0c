"""SafeState with one realistic mistake each."""

from tests.variants import Variant

VARIANTS = [
    Variant(
        name="writes_in_place",
        mistake="opens state.json with 'wb' and writes the new contents over the old ones",
        patches=[
            (
                "atomic.py",
                "    target = os.path.abspath(os.fspath(path))\n",
                "    with open(path, 'wb') as f:\n"
                "        f.write(data)\n"
                "        f.flush()\n"
                "        os.fsync(f.fileno())\n"
                "    os.chmod(path, mode)\n"
                "    return\n"
                "    target = os.path.abspath(os.fspath(path))\n",
            )
        ],
        test="test_fsync.py::test_write_fsync_rename_fsync_directory",
        message="written in place",
    ),
    Variant(
        name="temp_in_tmp",
        mistake="creates the temp file in /tmp instead of next to the target",
        patches=[
            (
                "atomic.py",
                "    prefix = os.path.join(directory, temp_prefix(target))\n",
                "    prefix = os.path.join('/tmp', temp_prefix(target))\n",
            )
        ],
        test="test_fsync.py::test_write_fsync_rename_fsync_directory",
        message="not in the same directory",
    ),
    Variant(
        name="no_fsync_file",
        mistake="renames the temp file without fsyncing it first",
        patches=[("atomic.py", "            os.fsync(fd)\n", "")],
        test="test_fsync.py::test_write_fsync_rename_fsync_directory",
        message="not fsynced before the rename",
    ),
    Variant(
        name="no_fsync_dir",
        mistake="never fsyncs the directory after the rename",
        patches=[("atomic.py", "        raise\n    fsync_dir(directory)\n", "        raise\n")],
        test="test_fsync.py::test_write_fsync_rename_fsync_directory",
        message="directory was not fsynced",
    ),
    Variant(
        name="no_lock",
        mistake="update() reads, changes and writes without taking the lock",
        patches=[
            (
                "store.py",
                "        with self.lock():\n            doc, _ = self._read_state()\n",
                "        if True:\n            doc, _ = self._read_state()\n",
            )
        ],
        test="test_concurrency.py::test_concurrent_updates_lose_nothing",
        message="lost updates",
    ),
    Variant(
        name="reads_outside_lock",
        mistake="update() reads the current values before taking the lock",
        patches=[
            (
                "store.py",
                "        with self.lock():\n            doc, _ = self._read_state()\n",
                "        doc, _ = self._read_state()\n        with self.lock():\n",
            )
        ],
        test="test_concurrency.py::test_concurrent_updates_lose_nothing",
        message="lost updates",
    ),
    Variant(
        name="world_readable",
        mistake="creates the temp file with mode 0666 and trusts the umask",
        patches=[
            (
                "atomic.py",
                "            fd = os.open(temp, flags, mode)\n",
                "            fd = os.open(temp, flags, 0o666)\n",
            ),
            ("atomic.py", "            os.fchmod(fd, mode)\n", ""),
        ],
        test="test_atomic.py::test_modes_are_private_under_a_permissive_umask",
        message="world-readable",
    ),
    Variant(
        name="temp_left_on_error",
        mistake="re-raises a write error without removing the temp file",
        patches=[
            (
                "atomic.py",
                "    except BaseException:\n"
                "        try:\n"
                "            os.unlink(temp)\n"
                "        except OSError:\n"
                "            pass  # the original error is the one worth reporting\n"
                "        raise\n",
                "    except BaseException:\n        raise\n",
            )
        ],
        test="test_faults.py::test_disk_full_keeps_the_old_file",
        message="left its temp file behind",
    ),
    Variant(
        name="shared_temp_name",
        mistake="uses the predictable temp name .state.json.tmp, truncating it if it exists",
        patches=[
            (
                "atomic.py",
                '        temp = f"{prefix}{secrets.token_hex(8)}{TEMP_SUFFIX}"\n',
                '        temp = f"{prefix}shared{TEMP_SUFFIX}"\n',
            ),
            ("atomic.py", "os.O_WRONLY | os.O_CREAT | os.O_EXCL |", "os.O_WRONLY | os.O_CREAT | os.O_TRUNC |"),
        ],
        test="test_concurrency.py::test_unlocked_writers_never_mix",
        message="own temp file",
    ),
    Variant(
        name="swallows_disk_full",
        mistake="catches OSError around the write and carries on as if it had worked",
        patches=[
            (
                "atomic.py",
                "    except BaseException:\n        try:\n            os.unlink(temp)\n",
                "    except OSError:\n"
                "        try:\n"
                "            os.unlink(temp)\n"
                "        except OSError:\n"
                "            pass\n"
                "        return  # best effort: a config file is not worth crashing for\n"
                "    except BaseException:\n"
                "        try:\n"
                "            os.unlink(temp)\n",
            )
        ],
        test="test_faults.py::test_disk_full_keeps_the_old_file",
        message="must fail with exit 74",
    ),
    Variant(
        name="starts_fresh_on_corrupt",
        mistake="treats an unreadable state.json as an empty store (and overwrites it on the next set)",
        patches=[
            (
                "store.py",
                "        except CorruptState as exc:\n            exc.path = self.path\n            raise\n",
                '        except CorruptState:\n            return {"schema": SCHEMA, "values": {}}, False\n',
            )
        ],
        test="test_cli.py::test_corrupt_json_exits_65_and_is_kept",
        message="must exit 65",
    ),
    Variant(
        name="anonymous_lock",
        mistake="takes the lock but never records who holds it, so a timeout cannot name the holder",
        patches=[
            ("lock.py", '            os.pwrite(fd, (json.dumps(note) + "\\n").encode(), 0)\n', "            pass\n")
        ],
        test="test_concurrency.py::test_lock_timeout_exits_75_naming_the_holder",
        message="should name the process holding the lock",
    ),
]
