"""Rows to ``Job``s: the column list and the record's fields stay in step."""

import dataclasses

from bot.model import Job, ProviderButton, encode_buttons, encode_urls
from bot.store.database import Database
from bot.store.job_rows import JOB_COLUMNS, job_from_row
from tests.postgres import table_columns

# The JSON columns keep their names in the table; the record holds them as stored.
_STORED_AS = {"params": "params_json", "provider_buttons": "buttons_json"}
_STORED_AS["result_urls"] = "result_urls_json"


def test_the_column_list_names_every_field_of_a_job_in_order() -> None:
    columns = [name.strip() for name in JOB_COLUMNS.split(",")]
    assert [_STORED_AS.get(name, name) for name in columns] == [
        field.name for field in dataclasses.fields(Job)
    ]


async def test_every_listed_column_exists_and_only_scheduling_columns_are_left_out(
    db: Database,
) -> None:
    async with db.transaction() as tx:
        table = await table_columns(tx, db.engine, "jobs")
    listed = [name.strip() for name in JOB_COLUMNS.split(",")]
    assert set(listed) <= set(table)
    # Scheduling and dispatching columns: read by their own queries, not part of a Job.
    assert set(table) - set(listed) == {"weight", "updated_at", "owner", "endpoint"}


def test_the_json_columns_read_back_as_written() -> None:
    buttons = (ProviderButton(custom_id="MJ::JOB::upsample::1::t", label="U1"),)
    urls = ("https://cdn.test/1.png", "https://cdn.test/2.png")
    row = (
        *(7, 1, 2, 3, "imagine", "upscale", 2, 5, "a fox --seed 1", '{"draft": true}'),
        *(1, 0, "fast", 1000, "succeeded", "task-9", encode_buttons(buttons), 100, None),
        *(None, 44, encode_urls(urls), None, None, None, 1.0, 2.0, 3.0, 1),
    )
    job = job_from_row(row)  # type: ignore[arg-type]  # a tuple unpacks as a Row does
    assert (job.params, job.provider_buttons, job.result_urls) == ({"draft": True}, buttons, urls)
    job.params["draft"] = False  # a copy: the record cannot be changed through it
    assert job.params == {"draft": True}
    empty = dataclasses.replace(job, buttons_json="[]", result_urls_json="[]")
    assert (empty.provider_buttons, empty.result_urls) == ((), ())
