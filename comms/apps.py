from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications: messages, providers, replies"

    def ready(self):
        # Every task a worker runs holds a lease for as long as it runs (see comms.leases).
        from django_tasks.signals import task_finished, task_started

        from . import leases

        task_started.connect(leases.on_task_started, dispatch_uid="candor-task-lease-start")
        task_finished.connect(leases.on_task_finished, dispatch_uid="candor-task-lease-finish")
