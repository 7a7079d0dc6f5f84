from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    name = "feeds"
    verbose_name = _("Agency feeds")

    def ready(self) -> None:
        from feeds import importers  # noqa: F401 - registers the import kinds
        from feeds.models import FEED_MODELS
        from people.merge import register_person_reference

        for model in FEED_MODELS.values():
            register_person_reference(model._meta.label, "person")
