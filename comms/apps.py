from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications: messages, providers, replies"

    def ready(self):
        from django_tasks.signals import task_finished, task_started

        from .monitoring.connections import close_stale_connections

        task_started.connect(close_stale_connections, dispatch_uid="candor-close-stale-connections-start")
        task_finished.connect(close_stale_connections, dispatch_uid="candor-close-stale-connections-finish")
