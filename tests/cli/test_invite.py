from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.cli import main
from bot.cli.invite import PERMISSION_REASONS, invite_url, required_permissions
from bot.ui.channel import REQUIRED_PERMISSIONS, THREAD_PERMISSIONS
from tests.cli.conftest import APPLICATION_ID, TOKEN


def test_permissions_are_exactly_the_ones_tessera_uses() -> None:
    permissions = required_permissions()
    granted = {name for name, value in permissions if value}
    # discord.py iterates the canonical flag name: read_messages is View Channel.
    assert granted == {
        "read_messages",
        "send_messages",
        "send_messages_in_threads",
        "embed_links",
        "attach_files",
        "read_message_history",
    }
    assert permissions.value == 274878024704
    assert not permissions.administrator
    assert not permissions.manage_messages
    assert len(PERMISSION_REASONS) == len(granted)


@pytest.mark.parametrize("guild_id", [None, 42])
def test_invite_url_has_both_scopes_and_the_permission_integer(guild_id: int | None) -> None:
    url = urlsplit(invite_url(APPLICATION_ID, guild_id=guild_id))
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    assert query["client_id"] == [str(APPLICATION_ID)]
    assert query["scope"] == ["bot applications.commands"]
    assert discord.Permissions(int(query["permissions"][0])) == required_permissions()
    assert query.get("guild_id") == (None if guild_id is None else [str(guild_id)])


def test_invite_command_derives_the_application_id_from_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TESSERA_DISCORD__TOKEN", TOKEN)
    assert main(["invite"]) == 0
    out = capsys.readouterr().out
    first, *rest = out.splitlines()
    assert first == invite_url(APPLICATION_ID)
    assert "scopes: bot applications.commands" in rest
    assert "permissions 274878024704:" in rest
    assert "  Attach Files: upload the generated images" in rest
    assert TOKEN not in out


def test_invite_command_with_an_explicit_application_id_needs_no_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["invite", "--application-id", "987654321", "--guild", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == invite_url(987654321, guild_id=5)


def test_invite_command_without_token_or_id_explains(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invite"]) == 2
    err = capsys.readouterr().err
    assert "TESSERA_DISCORD__TOKEN" in err
    assert "--application-id" in err


def test_readme_documents_the_same_permissions() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"`{required_permissions().value}`" in readme
    assert "`bot`" in readme
    assert "`applications.commands`" in readme
    for _, label, _ in PERMISSION_REASONS:
        assert f"\n| {label} | " in readme


def test_the_invite_grants_what_imagine_checks_for() -> None:
    # /imagine refuses a channel lacking these; an invite without them would fail everywhere.
    invited = required_permissions()
    assert all(getattr(invited, name) for name, _ in REQUIRED_PERMISSIONS + THREAD_PERMISSIONS)
