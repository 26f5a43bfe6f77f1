"""File operations on this machine's filesystem, shared by LocalTransport and SimTransport."""

from __future__ import annotations

import os
import secrets
import stat as stat_mod
from collections.abc import Callable
from typing import BinaryIO

from dom0 import errors
from dom0.transports.base import FileStat, ProgressCallback, temp_sibling

_CHUNK = 1024 * 1024


class LocalFiles:
    """Atomic writes, reads and stats of host paths that resolve to local files."""

    def __init__(self, resolve: Callable[[str], str]) -> None:
        self._resolve = resolve

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        target = self._resolve(path)
        self._atomic_write(path, target, mode, lambda f: f.write(data))

    def read_file(self, path: str) -> bytes:
        target = self._resolve(path)
        try:
            with open(target, "rb") as f:
                return f.read()
        except FileNotFoundError as exc:
            raise errors.RemoteFileMissing(f"{path}: no such file") from exc
        except OSError as exc:
            raise errors.Dom0Error(f"cannot read {path}: {exc.strerror}") from exc

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        target = self._resolve(path)
        try:
            with open(target, "rb") as f:
                f.seek(offset)
                return f.read(length)
        except FileNotFoundError as exc:
            raise errors.RemoteFileMissing(f"{path}: no such file") from exc
        except OSError as exc:
            raise errors.Dom0Error(f"cannot read {path}: {exc.strerror}") from exc

    def stat(self, path: str) -> FileStat | None:
        try:
            st = os.stat(self._resolve(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileStat(size=st.st_size, mtime=st.st_mtime, is_dir=stat_mod.S_ISDIR(st.st_mode))

    def remove(self, path: str) -> None:
        try:
            os.unlink(self._resolve(path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise errors.Dom0Error(f"cannot remove {path}: {exc.strerror}") from exc

    def makedirs(self, path: str) -> None:
        try:
            os.makedirs(self._resolve(path), exist_ok=True)
        except OSError as exc:
            raise errors.Dom0Error(f"cannot create directory {path}: {exc.strerror}") from exc

    def put_file(
        self, local_path: str, remote_path: str, progress: ProgressCallback | None = None
    ) -> None:
        target = self._resolve(remote_path)
        try:
            total = os.path.getsize(local_path)
        except OSError as exc:
            raise errors.Dom0Error(f"cannot read local file {local_path}: {exc.strerror}") from exc

        def copy(out: BinaryIO) -> None:
            done = 0
            with open(local_path, "rb") as src:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            if progress is not None and total == 0:
                progress(0, 0)

        self._atomic_write(remote_path, target, 0o644, copy)

    def _atomic_write(
        self, path: str, target: str, mode: int, fill: Callable[[BinaryIO], object]
    ) -> None:
        tmp = temp_sibling(target, secrets.token_hex(6))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError as exc:
            raise errors.RemoteFileMissing(f"{path}: parent directory does not exist") from exc
        except OSError as exc:
            raise errors.Dom0Error(f"cannot write {path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise errors.Dom0Error(f"cannot write {path}: {exc.strerror}") from exc
            raise


class LocalFilesMixin:
    """File operations of a transport whose files are on this machine (local and simulated)."""

    _files: LocalFiles

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._files.write_file(path, data, mode)

    def read_file(self, path: str) -> bytes:
        return self._files.read_file(path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self._files.read_range(path, offset, length)

    def stat(self, path: str) -> FileStat | None:
        return self._files.stat(path)

    def remove(self, path: str) -> None:
        self._files.remove(path)

    def makedirs(self, path: str) -> None:
        self._files.makedirs(path)

    def put_file(
        self, local_path: str, remote_path: str, progress: ProgressCallback | None = None
    ) -> None:
        self._files.put_file(local_path, remote_path, progress)
