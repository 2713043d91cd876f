from django.apps import AppConfig


class DlpConfig(AppConfig):
    name = "apps.dlp"
    label = "dlp"
