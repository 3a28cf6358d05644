"""``parley serve`` on PostgreSQL, end to end: the real server process with ``[store] url =
"postgresql://…"``, Telegram webhooks from the fake Bot API on 127.0.0.1, and the
conversation and its answers read back from the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store.postgres import PostgresStore
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.pg_cluster import PASSWORD, PgCluster
from tests.serve_process import ParleyProcess, write_config
from tests.telegram_harness import SECRET, Chat, post_update

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]


async def test_a_telegram_conversation_is_kept_in_postgresql(
        pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.fresh_url(migrated=False)  # serve applies the migrations itself
    telegram = FakeTelegram()
    with telegram.serve() as served:
        config = write_config(tmp_path, "telegram", {
            "token": DEFAULT_TOKEN, "webhook_secret": SECRET,
            "api_base_url": f"{served.base_url}/bot", "mode": "webhook",
            "rate_limit_per_second": 200, "per_chat_per_second": 50, "request_timeout": 2,
        }, more={"store": {"url": url}})
        server = ParleyProcess(config).start()
        try:
            me = Chat(server, telegram, 4242)
            assert await me.say("/start") == [
                "Hello! Which language would you like? / Helo! Pa iaith hoffech chi?"]
            got = await me.tap("English")
            assert got[-1].endswith("Do you agree to take part, and for us to keep your "
                                    "answers?")
            update = me.text_update("yes")
            assert (await post_update(server, update)).text == "stored"
            assert (await post_update(server, update)).text == "duplicate"
            assert await me.replies() == [
                "Thank you for joining! Next, a few quick questions.\n\n"
                "What would you like us to call you? Any name is fine."]
            assert await me.say("Ffion") == ["When is the best time to message you?"]
        finally:
            server.stop()
        log = (tmp_path / "serve.log").read_text(encoding="utf-8")
        assert "postgresql" not in log or "***" in log
        assert PASSWORD not in log

    store = PostgresStore(url)
    await store.open()
    try:
        person = await store.participant_for_address(me.address)
        assert person is not None and person.status == "consented"
        assert person.profile["preferred_name"] == "Ffion" and person.locale == "en"
        sent = [o for o in await store.outbox_of(person.id) if o.status == "sent"]
        assert len(sent) >= 4  # language, consent, thanks + name question, time question
        assert len(await store.inbox_pending()) == 0
    finally:
        await store.close()
