"""A separate process for the concurrency and kill tests: ingest one synthetic commit.

    python worker.py URL SHA EDIT [--wait-for-go] [--hang-in-transaction]

The snapshot is `factories.shared_base_snapshot(SHA, EDIT)`: one module with package number
EDIT edited, so concurrent workers share most content and race on the same rows. `--wait-for-go`
prints `ready` and waits for a line on stdin, so that all workers start together.
`--hang-in-transaction` registers an event listener that, once the escape rows are
written and before the commit, prints `inside the transaction` and sleeps: the test's
SIGKILL lands there. Prints `stored True|False` at the end.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from factories import REPOSITORY, make_commit, shared_base_snapshot  # run as a script
from sqlalchemy import Engine, event

from bot.store import Store


def _hang(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    # package_file rows are inserted after the escape rows, in the same transaction.
    if statement.startswith("INSERT INTO package_file"):
        print("inside the transaction", flush=True)
        time.sleep(600)


def main(argv: list[str]) -> int:
    url, sha, edit = argv[1], argv[2], int(argv[3])
    snapshot = shared_base_snapshot(sha, edit)
    if "--hang-in-transaction" in argv:
        event.listen(Engine, "after_cursor_execute", _hang)
    if "--wait-for-go" in argv:
        print("ready", flush=True)
        sys.stdin.readline()
    with Store.open(url) as store:
        stored = store.record_snapshot(REPOSITORY, make_commit(sha), snapshot)
    print(f"stored {stored}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
