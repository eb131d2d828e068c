"""The base of every management command: refusals as ``CommandError``, files opened once."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class DatapoolCommand(BaseCommand):
    """A command whose services refuse bad input with ``ValidationError`` (``Refused``):
    the refusal's one line (``field: reason (value)``) becomes the ``CommandError``."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ValidationError as error:
            raise CommandError(str(error)) from None

    @contextmanager
    def open_text(
        self, file: str, *, stdin: TextIO | None = None, newline=None
    ) -> Iterator[TextIO]:
        """``file`` as UTF-8 text (a byte-order mark is dropped), or standard input for
        ``-``; a file that cannot be opened or is not UTF-8 is a ``CommandError``."""
        try:
            if file == "-":
                yield stdin or io.TextIOWrapper(
                    sys.stdin.buffer, encoding="utf-8-sig", newline=newline
                )
                return
            try:
                stream = open(file, encoding="utf-8-sig", newline=newline)  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise CommandError(f"file: no such file ({file})") from None
            except IsADirectoryError:
                raise CommandError(f"file: is a directory ({file})") from None
            except PermissionError:
                raise CommandError(f"file: cannot be read ({file})") from None
            with stream:
                yield stream
        except UnicodeDecodeError as error:
            raise CommandError(f"file: is not UTF-8 text ({file}: {error.reason})") from None
