"""One rooted exception tree; every message is French, names the thing at fault and says the fix.

    AssistantError
    ├── ConfigError            settings that cannot work (bad path, missing key…)
    ├── ModelError             the chat or embedding model cannot be loaded or answered
    │   └── ModelIntegrityError  a GGUF whose sha256 differs from the pinned one
    ├── StoreError             the vector store cannot be opened or written
    ├── DocumentError          a document that cannot be indexed (carries the file name)
    │   ├── UnsupportedFormatError
    │   ├── EmptyDocumentError     no text at all (e.g. image-only PDF)
    │   ├── EncryptedDocumentError
    │   ├── CorruptDocumentError
    │   └── DocumentTooLargeError
    ├── InputError             a question or value typed by the user that cannot be used
    └── WorkflowError          an artifact or stage operation that is not possible

Adapters translate library exceptions into these (``raise … from e``); only the edges (CLI, UI)
turn them into messages for people.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class. ``str(error)`` is the French message shown to users."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(self.user_message)

    def __reduce__(self):
        # Errors cross process boundaries (files are read in worker processes): rebuild them from their fields,
        # whatever the subclass's constructor takes.
        return _rebuild, (type(self), self.__dict__)

    @property
    def user_message(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


class ConfigError(AssistantError):
    pass


class ModelError(AssistantError):
    pass


class ModelIntegrityError(ModelError):
    pass


class StoreError(AssistantError):
    pass


class InputError(AssistantError):
    pass


class WorkflowError(AssistantError):
    pass


class DocumentError(AssistantError):
    """A document that cannot be indexed. ``file_name`` is always set so the UI can show it."""

    def __init__(self, file_name: str, message: str, *, fix: str | None = None) -> None:
        self.file_name = file_name
        super().__init__(f"« {file_name} » : {message}", fix=fix)


class UnsupportedFormatError(DocumentError):
    pass


class EmptyDocumentError(DocumentError):
    pass


class EncryptedDocumentError(DocumentError):
    pass


class CorruptDocumentError(DocumentError):
    pass


class DocumentTooLargeError(DocumentError):
    pass


def _rebuild(cls: type[AssistantError], fields: dict) -> AssistantError:
    error = cls.__new__(cls)
    error.__dict__.update(fields)
    Exception.__init__(error, error.user_message)
    return error
