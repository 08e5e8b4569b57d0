"""Session metadata files as CCAI writes them to external storage (the fake writes them, the
reader reads them back)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.ccai.errors import CcaiMetadataError
from integrations.ccai.fake import sample_session, write_metadata
from integrations.ccai.metadata import name_of, read_file


def test_a_call_file_is_read_with_its_fields(tmp_path: Path) -> None:
    path = write_metadata(tmp_path, "call", sample_session(
        "call", 103646, phone="+12223334444", email="bond@example.com", agent="Eve Moneypenny",
        menu_path="Orders/Order confirmation"))
    assert path == tmp_path / "ujet-metadata" / "call-103646.json"
    meta = read_file(path)
    assert (meta.kind, meta.session_id, meta.session_type, meta.status) == (
        "call", 103646, "Voice Inbound", "finished")
    assert (meta.wait_seconds, meta.duration_seconds, meta.hold_seconds, meta.rating) == (
        50, 290, 15, 4)
    assert (meta.agent_name, meta.end_user_phone, meta.menu_path) == (
        "Eve Moneypenny", "+12223334444", "Orders/Order confirmation")
    assert meta.ended_at is not None and meta.created_at is not None


def test_a_chat_file_reads_its_own_type_and_duration(tmp_path: Path) -> None:
    meta = read_file(write_metadata(tmp_path, "chat", sample_session(
        "chat", 9, phone="", email="q@example.com", agent="Q", menu_path="Support")))
    assert (meta.kind, meta.session_type, meta.duration_seconds) == ("chat", "Messaging (Web)",
                                                                     290)


@pytest.mark.parametrize("name", ["call-1.txt", "recording-1.json", "call-x.json",
                                  "call-1.json.part", "call-1.json/x"])
def test_other_names_are_not_metadata(name: str) -> None:
    assert name_of(Path(name)) is None


@pytest.mark.parametrize("content", [b"{not json", b"[]", json.dumps({"id": 2}).encode(),
                                     b"\xff\xfe"])
def test_unreadable_files_are_refused_with_the_reason(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "call-1.json"
    path.write_bytes(content)
    with pytest.raises(CcaiMetadataError, match=r"call-1\.json"):
        read_file(path)


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "chat-1.json"
    path.write_bytes(b" " * (3 * 1024 * 1024))
    with pytest.raises(CcaiMetadataError, match="KiB"):
        read_file(path)
