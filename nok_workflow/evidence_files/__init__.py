"""Evidence intake: the one gate every uploaded file passes (the CLI's path now, a web stream next).

A file is copied into a staging file under the evidence folder (`staging`, from a `sources`
path or stream), its name cleaned (`names`) and its type judged by content against an
allowlist (`kinds`). Only when every check, the caller's database checks included, has passed
does `Staged.place()` move it to its content-addressed place (`placing`); a failure before
the caller's commit removes what was staged or placed, so no failure leaves a blob behind.
"""

from nok_workflow.evidence_files.kinds import (
    ACCEPTED,
    ALLOWED,
    DOC,
    DOCX,
    ODS,
    ODT,
    PDF,
    TEXT,
    XLS,
    XLSX,
    ZipLimits,
)
from nok_workflow.evidence_files.messages import human_size
from nok_workflow.evidence_files.names import MAX_NAME, check_name, display_name, printable
from nok_workflow.evidence_files.placing import Staged, StoredFile, path_of
from nok_workflow.evidence_files.sources import PathSource, Source, StreamSource
from nok_workflow.evidence_files.staging import stage

__all__ = [
    "ACCEPTED", "ALLOWED", "DOC", "DOCX", "MAX_NAME", "ODS", "ODT", "PDF", "TEXT", "XLS", "XLSX",
    "PathSource", "Source", "Staged", "StoredFile", "StreamSource", "ZipLimits",
    "check_name", "display_name", "human_size", "path_of", "printable", "stage",
]
