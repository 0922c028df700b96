"""RQ runs many tasks in one long-lived process (SimpleWorker): like Django does around a request,
drop a database connection that broke or outlived CONN_MAX_AGE around each task, so a database
restart costs one failed task, not every task after it. (db_worker does this itself.)"""

from django.db import connections


def close_stale_connections(sender, **kwargs):
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:  # never inside a transaction (a test's, for one)
            connection.close_if_unusable_or_obsolete()
