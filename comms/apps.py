from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications: messages, providers, replies"

    def ready(self):
        # A task starts on a fresh database connection and holds a lease for as long as it runs
        # (see comms.leases); the order of the receivers matters.
        from django_tasks.signals import task_finished, task_started

        from . import leases
        from .monitoring.connections import close_stale_connections

        task_started.connect(close_stale_connections, dispatch_uid="candor-close-stale-connections-start")
        task_started.connect(leases.on_task_started, dispatch_uid="candor-task-lease-start")
        task_finished.connect(leases.on_task_finished, dispatch_uid="candor-task-lease-finish")
        task_finished.connect(close_stale_connections, dispatch_uid="candor-close-stale-connections-finish")
