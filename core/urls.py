from django.urls import path

from core import views

app_name = "core"
urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/rejects.csv", views.import_rejects_csv, name="import-rejects-csv"),
    path("imports/rejects/<int:pk>/", views.reject_detail, name="reject"),
    path("audit/", views.audit, name="audit"),
    path("policy/", views.policy_page, name="policy"),
]
